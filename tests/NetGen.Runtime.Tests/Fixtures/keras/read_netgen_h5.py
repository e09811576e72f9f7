# Reads a weights file NetGen's SaveKerasWeights wrote (netgen.h5, from KerasWeightsTests with
# NETGEN_WRITE_FIXTURES=1) the way Keras 2.12's load_weights_from_hdf5_group does, with h5py, and prints what Keras
# would assign to each layer (netgen.h5.txt is its output):
#   cd tests/NetGen.Runtime.Tests/Fixtures/keras && /usr/bin/python3 read_netgen_h5.py netgen.h5 > netgen.h5.txt
import sys
import h5py
import numpy as np

def load_attributes_from_hdf5_group(group, name):  # Keras's, verbatim in substance
    if name in group.attrs:
        data = [n.decode("utf8") if hasattr(n, "decode") else n for n in group.attrs[name]]
    else:
        data = []
        chunk_id = 0
        while "%s%d" % (name, chunk_id) in group.attrs:
            data.extend([n.decode("utf8") if hasattr(n, "decode") else n for n in group.attrs["%s%d" % (name, chunk_id)]])
            chunk_id += 1
    return data

with h5py.File(sys.argv[1], "r") as f:
    if "layer_names" not in f.attrs and "model_weights" in f:
        f = f["model_weights"]
    original_keras_version = f.attrs["keras_version"]
    original_backend = f.attrs.get("backend")
    print("keras_version", original_keras_version.decode("utf8") if hasattr(original_keras_version, "decode") else original_keras_version,
          "backend", original_backend.decode("utf8") if hasattr(original_backend, "decode") else original_backend)
    layer_names = load_attributes_from_hdf5_group(f, "layer_names")
    filtered = []
    for name in layer_names:
        g = f[name]
        weight_names = load_attributes_from_hdf5_group(g, "weight_names")
        if weight_names:
            filtered.append(name)
        print("layer", name, "weights", weight_names)
        for w in weight_names:
            value = np.asarray(g[w])
            print("  ", w, value.dtype, value.shape, "sum %.6f" % float(value.astype(np.float64).sum()))
    print("layers with weights", filtered)
