"""Net files and exchange formats, one module per format.

    netfile.py     netdsl's net file: safetensors arrays + the architecture as text
    construct.py   a net built from that text without the evaluator (files are data)
    onnx_export.py Export["net.onnx", net]: the Test-mode net as an ONNX model
    onnx_ops.py    the table of how each layer becomes ONNX nodes (reusable)
"""
