"""Writes dynamic-yolov8.onnx: a YOLOv8-layout model whose input and output shapes are symbolic.

The detector must fall back to the `imgsz` metadata for the input size and probe one run to learn the output
shape. The graph ignores the input's values (ReduceMean(x) * 0 + constant), so the decoded boxes are known:
anchor 0 is class 1 at cx=32, cy=16, w=20, h=10 with score 0.8; all other anchors score 0.01.
Run: /usr/bin/python3 make_dynamic_model.py  (writes next to this script)
"""
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

classes, anchors = 2, 8
raw = np.full((1, 4 + classes, anchors), 0.01, dtype=np.float32)
raw[0, 0:4, :] = 8.0  # small boxes everywhere
raw[0, :, 0] = [32.0, 16.0, 20.0, 10.0, 0.02, 0.8]

nodes = [
    helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
    helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
    helper.make_node("Add", ["raw", "nothing"], ["output0"]),
]
graph = helper.make_graph(
    nodes, "dynamic_yolov8",
    [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, "height", "width"])],
    [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", "channels", "anchors"])],
    initializer=[numpy_helper.from_array(raw, "raw"), numpy_helper.from_array(np.array(0, dtype=np.float32), "zero")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgelabeling-tests")
model.ir_version = 8
for key, value in {"names": "{0: 'bolt', 1: 'nut'}", "imgsz": "[64, 96]", "task": "detect"}.items():
    model.metadata_props.add(key=key, value=value)
onnx.checker.check_model(model)
onnx.save(model, Path(__file__).with_name("dynamic-yolov8.onnx"))
