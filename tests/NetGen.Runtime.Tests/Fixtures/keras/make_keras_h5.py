# Keras 2 HDF5 weight files written with h5py exactly as Keras 2.12's hdf5_format.py writes them
# (save_weights_to_hdf5_group, save_attributes_to_hdf5_group), for KerasWeightsTests:
#   cd tests/NetGen.Runtime.Tests/Fixtures/keras && /usr/bin/python3 make_keras_h5.py
# The network (KerasFixtureNet in the tests): Conv2D(3, 3) "conv" on 6x6x2, BatchNormalization "bn", Flatten
# "flatten", Dense(4) "dense"; weight shapes as Keras's. expected.txt lists every weight's values.
import json
import h5py
import numpy as np

rng = np.random.RandomState(0)
layers = [
    ("conv", [("conv/kernel:0", (3, 3, 2, 3)), ("conv/bias:0", (3,))]),
    ("bn", [("bn/gamma:0", (3,)), ("bn/beta:0", (3,)), ("bn/moving_mean:0", (3,)), ("bn/moving_variance:0", (3,))]),
    ("flatten", []),
    ("dense", [("dense/kernel:0", (48, 4)), ("dense/bias:0", (4,))]),
]
values = {name: (rng.uniform(0.1, 1.0, shape) if "variance" in name else rng.normal(0, 0.5, shape)).astype(np.float32)
          for _, weights in layers for name, shape in weights}

HDF5_OBJECT_HEADER_LIMIT = 64512

def save_attributes_to_hdf5_group(group, name, data, force_chunks=1):
    data_npy = np.asarray(data)
    num_chunks = force_chunks
    chunked_data = np.array_split(data_npy, num_chunks)
    while any(x.nbytes > HDF5_OBJECT_HEADER_LIMIT for x in chunked_data):
        num_chunks += 1
        chunked_data = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for chunk_id, chunk_data in enumerate(chunked_data):
            group.attrs["%s%d" % (name, chunk_id)] = chunk_data
    else:
        group.attrs[name] = data

def save_weights_to_hdf5_group(f, chunks=1, dtype=None):
    save_attributes_to_hdf5_group(f, "layer_names", [name.encode("utf8") for name, _ in layers], chunks)
    f.attrs["backend"] = "tensorflow".encode("utf8")
    f.attrs["keras_version"] = "2.12.0".encode("utf8")
    for layer, weights in sorted(layers, key=lambda x: x[0]):
        g = f.create_group(layer)
        weight_names = [name.encode("utf8") for name, _ in weights]
        save_attributes_to_hdf5_group(g, "weight_names", weight_names)
        for name, _ in weights:
            val = values[name] if dtype is None else values[name].astype(dtype)
            param_dset = g.create_dataset(name, val.shape, dtype=val.dtype)
            param_dset[:] = val

with h5py.File("weights.h5", "w") as f:  # model.save_weights("weights.h5")
    save_weights_to_hdf5_group(f)
with h5py.File("model.h5", "w") as f:  # model.save("model.h5"): the weights under model_weights, float64 here
    f.attrs["keras_version"] = "2.12.0".encode("utf8")
    f.attrs["backend"] = "tensorflow".encode("utf8")
    f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "fixture"}}).encode("utf8")
    save_weights_to_hdf5_group(f.create_group("model_weights"), dtype=np.float64)
    f.create_group("optimizer_weights")
with h5py.File("chunked.h5", "w") as f:  # layer_names split into layer_names0, layer_names1 (as for big models)
    save_weights_to_hdf5_group(f, chunks=2)

with open("expected.txt", "w") as out:
    for name, value in values.items():
        out.write(name + " " + " ".join(repr(float(v)) for v in value.ravel()) + "\n")
