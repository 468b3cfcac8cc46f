/* A branchy integer workload for bench/sim_speed.py: bitwise CRC-32, a linked-list walk, a byte-driven
   state machine and a small integer matrix product. Short basic blocks, data-dependent branches. */
#include <stdint.h>
#include <stdio.h>

#define N_BYTES 4096
#define N_NODES 512
#define M 16

static uint8_t data[N_BYTES];
static struct node { struct node *next; int32_t value; } nodes[N_NODES];
static int32_t a[M][M], b[M][M], c[M][M];

static uint32_t crc32(const uint8_t *p, int n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (int i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static int32_t walk(const struct node *n)
{
    int32_t s = 0;
    for (; n; n = n->next)
        s += (n->value & 1) ? n->value : -n->value;
    return s;
}

static int machine(const uint8_t *p, int n)
{
    int state = 0, words = 0;
    for (int i = 0; i < n; i++) {
        uint8_t ch = p[i] & 0x3F;
        switch (state) {
        case 0: if (ch > 40) { state = 1; words++; } break;
        case 1: if (ch < 10) state = 2; else if (ch < 20) state = 0; break;
        case 2: state = (ch & 1) ? 3 : 0; break;
        default: state = ch > 50 ? 1 : 0; break;
        }
    }
    return words * 4 + state;
}

static int32_t matmul(void)
{
    int32_t s = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++) {
            int32_t t = 0;
            for (int k = 0; k < M; k++)
                t += a[i][k] * b[k][j];
            c[i][j] = t;
            s ^= t;
        }
    return s;
}

int main(void)
{
    uint32_t x = 12345;
    for (int i = 0; i < N_BYTES; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    for (int i = 0; i < N_NODES; i++) {  /* a permutation: the walk jumps around memory */
        int j = (i * 197 + 31) % N_NODES, k = ((i + 1) * 197 + 31) % N_NODES;
        nodes[j].value = i * 7 - 300;
        nodes[j].next = i + 1 < N_NODES ? &nodes[k] : 0;
    }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++) {
            a[i][j] = i * 3 - j;
            b[i][j] = (i ^ j) - 5;
        }
    uint32_t crc = 0;
    int32_t s = 0, w = 0, mm = 0;
    for (int r = 0; r < 8; r++) {
        crc ^= crc32(data, N_BYTES);
        s += walk(&nodes[31]);
        w += machine(data, N_BYTES);
        mm ^= matmul();
        data[r] ^= (uint8_t)crc;
    }
    printf("crc %08lx walk %ld machine %d matmul %ld\n", (unsigned long)crc, (long)s, w, (long)mm);
    return 0;
}
