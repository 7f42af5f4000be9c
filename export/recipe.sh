#!/usr/bin/env bash
# Regenerates the shipped model export/default.* from ../shared/data and re-measures it.
# Run from the repository root with the train extra installed: pip install '.[cpu,train]'
set -euo pipefail
DATA=${DATA:-../shared/data}
# The shipped run: 6000 steps (its step budget) in 29.5 minutes on 2 shared CPU cores.
streamcd train --data "$DATA" --out runs/default --minutes 1000 --max-steps 6000 --paste 0.3 --seed 0
streamcd export runs/default/checkpoint.pt --out export --name default
cp runs/default/checkpoint.pt export/default.pt   # the base of `streamcd adapt`
streamcd bench heldout --dataset "$DATA/cdnet2014" --methods streamcd,mog2,knn,gsoc,cnt --out out/bench-heldout
# The int8 variant is derived from default.encoder.onnx: regenerate it after every export.
streamcd quantize --model export/default.json --calibration "$DATA/cdnet2014" --out export --name default-int8
streamcd bench heldout --dataset "$DATA/cdnet2014" --methods streamcd --model default-int8 --out out/bench-heldout-int8
# The float16 (GPU) variant is derived from default.{encoder,head}.onnx: regenerate it too.
streamcd fp16 --model export/default.json --out export --name default-fp16
streamcd bench heldout --dataset "$DATA/cdnet2014" --methods streamcd --model default-fp16 --out out/bench-heldout-fp16
