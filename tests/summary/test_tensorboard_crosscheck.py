"""TensorBoard's EventAccumulator read numflow's event files (tf.summary, v1 FileWriter,
Keras TensorBoard callback): tests/fixtures/summary/make_summary_fixtures.py recorded it."""
import os

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "summary",
                       "tensorboard_crosscheck.txt")
EXPECTED = {"v2.scalar", "v2.histogram", "v2.histogram.plugin", "v2.image", "v2.text",
            "v2.tags", "v1.scalar", "v1.histogram", "v1.image", "v1.graph",
            "v1.summary_iterator", "keras.epoch_loss", "keras.histograms", "keras.model_graph"}


def test_tensorboard_reads_numflow_event_files():
    with open(FIXTURE) as f:
        lines = [line.split() for line in f if line.strip() and not line.startswith("#")]
    assert {line[1] for line in lines} == EXPECTED
    failed = [" ".join(line) for line in lines if line[0] != "PASS"]
    assert not failed, failed
