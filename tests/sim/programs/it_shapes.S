@ IT-block shapes around memory accesses: each fN(x, y, mem) returns a value and may write mem.
@ int it_shapes(int x, int y, int32_t *mem) calls them all and folds the results. Each continuation
@ starts with one memory access and then changes the flags before the next translation block: the
@ case where unicorn's stale IT state (see tinyscope/sim/native.py) used to leak into the caller.
#ifndef SHAPES
#define SHAPES f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11
#endif
    .syntax unified
    .thumb
    .text

    .macro FN name
    .balign 4
    .type \name, %function
    .thumb_func
\name:
    .endm

FN f1   @ ittt ge ... popge {r4, r5, pc}: libgcc's __aeabi_dadd return
    push {r4, r5, lr}
    ldr r4, [r2]
    adds r0, r0, r4
    cmp r0, r1
    ittt ge
    addge r0, r0, #5
    strge r0, [r2, #4]
    popge {r4, r5, pc}
    sub r0, r0, #3
    pop {r4, r5, pc}

FN f2   @ itt lt; ...; ldrlt pc, [sp], #4
    push {lr}
    cmp r0, r1
    itt lt
    addlt r0, r0, r1
    ldrlt pc, [sp], #4
    eor r0, r0, #0x33
    ldr pc, [sp], #4

FN f3   @ itt gt; ldmgt (not sp); bxgt lr
    mov r3, r2
    cmp r0, #0
    itt gt
    ldmgt r3, {r0, r1}
    bxgt lr
    ldr r0, [r2, #8]
    bx lr

FN f4   @ itt eq; streq; bxeq lr
    cmp r0, r1
    itt eq
    streq r1, [r2, #12]
    bxeq lr
    str r0, [r2, #12]
    mvn r0, r0
    bx lr

FN f5   @ itete: a load in every slot, then the block goes on to a return
    cmp r0, r1
    itete ne
    ldrne r3, [r2, #16]
    ldreq r3, [r2, #20]
    ldrne ip, [r2, #24]
    ldreq ip, [r2, #28]
    add r0, r3, ip
    bx lr

FN f6   @ loads in an IT block, then TBB and TBH (table reads)
    cmp r0, #0
    itt lt
    ldrlt r3, [r2, #32]
    rsblt r0, r0, #0
    and r3, r0, #3
    tbb [pc, r3]
1:  .byte (10f - 1b) / 2, (11f - 1b) / 2, (12f - 1b) / 2, (13f - 1b) / 2
10: adds r0, r0, #1
    b 2f
11: adds r0, r0, #10
    b 2f
12: adds r0, r0, #100
    b 2f
13: adds r0, r0, #200
2:  cmp r1, #0
    it gt
    ldrgt r3, [r2, #36]
    and r3, r1, #1
    tbh [pc, r3, lsl #1]
3:  .hword (20f - 3b) / 2, (21f - 3b) / 2
20: lsls r0, r0, #1
    bx lr
21: adds r0, r0, #7
    bx lr

FN f7   @ ite gt with VFP loads, then moves
    cmp r0, r1
    ite gt
    vldrgt s0, [r2, #40]
    vldrle s0, [r2, #44]
    vmov r0, s0
    bx lr

FN f8   @ it ne; ldrdne, then a store outside the block
    cmp r0, #2
    it ne
    ldrdne r0, r3, [r2, #48]
    str r3, [r2, #56]
    add r0, r0, r3
    bx lr

FN f9   @ it ge; blge to a function that starts with a push
    push {r4, lr}
    mov r4, r0
    cmp r0, r1
    it ge
    blge f1
    add r0, r0, r4
    pop {r4, pc}

FN f10  @ a single conditional pop {pc} after a conditional load (it lt; ldrlt; then ite)
    push {r4, lr}
    cmp r1, r0
    it lt
    ldrlt r4, [r2, #60]
    ite lt
    movlt r0, r4
    popge {r4, pc}
    adds r0, r0, #9
    pop {r4, pc}

    @ an IT block that straddles a 4 KiB page boundary (a translation block ends there)
    .balign 4096
    .space 4088
FN f11
    cmp r0, r1
    ittt gt
    ldrgt r3, [r2, #64]
    addgt r0, r0, r3
    strgt r0, [r2, #68]
    it le
    ldrle r0, [r2, #72]
    bx lr

FN bump    @ r0 += r5 (through the stack)
    push {r4, r5, lr}
    ldr r4, [sp, #4]
    add r0, r0, r4
    pop {r4, r5, pc}

    .global it_shapes
FN it_shapes
    push {r4, r5, r6, r7, r8, lr}
    mov r5, r0
    mov r6, r1
    mov r7, r2
    movs r4, #0
    .irp f, SHAPES
    mov r0, r5
    mov r1, r6
    mov r2, r7
    bl \f
    ldr r3, =0x12345            @ the continuation starts with one memory access (a literal)...
    cmp r0, r5                  @ ...changes the flags...
    bl bump                     @ ...and calls a function that starts with a push
    mla r4, r4, r3, r0
    .endr
    mov r0, r4
    pop {r4, r5, r6, r7, r8, pc}
    .ltorg
