"""The reference tier: tinyscope against other runtimes (LiteRT, onnxruntime) and the shared models."""
