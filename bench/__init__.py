"""numflow's benchmark suite: the same TF-API code timed on numflow and, when a peer
Python with tensorflow is given, on TensorFlow in the same run."""
