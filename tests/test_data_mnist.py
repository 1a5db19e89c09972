import gzip

import numpy as np
import pytest
import torch

from rnnlib.data import mnist


@pytest.fixture
def folder(tmp_path):
    """A miniature MNIST: 5 training and 3 test images of 28 x 28, some files gzipped."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(8, 28, 28), dtype=np.uint8)
    labels = np.array([5, 0, 4, 1, 9, 7, 2, 1], dtype=np.uint8)
    mnist.write_idx(tmp_path / "train-images-idx3-ubyte.gz", images[:5])
    mnist.write_idx(tmp_path / "train-labels-idx1-ubyte", labels[:5])
    mnist.write_idx(tmp_path / "t10k-images-idx3-ubyte", images[5:])
    mnist.write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[5:])
    return tmp_path, images, labels


def test_load_reads_both_splits_scaled_to_unit_interval(folder):
    path, images, labels = folder
    x, y = mnist.load(path, "train")
    assert x.shape == (5, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    torch.testing.assert_close(x, torch.from_numpy(images[:5] / 255.0).float())
    assert y.tolist() == [5, 0, 4, 1, 9]
    x, y = mnist.load(path, "test")
    assert x.shape == (3, 28, 28) and y.tolist() == [7, 2, 1]


def test_header_is_big_endian_as_in_the_format(tmp_path):
    mnist.write_idx(tmp_path / "a", np.zeros((2, 3, 4), dtype=np.uint8))
    raw = (tmp_path / "a").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3])
    assert raw[4:16] == bytes([0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    assert len(raw) == 16 + 24


def test_read_idx_handles_other_element_types(tmp_path):
    values = np.array([1.5, -2.0], dtype=">f4")
    header = bytes([0, 0, 0x0D, 1]) + (2).to_bytes(4, "big")
    with gzip.open(tmp_path / "f.gz", "wb") as f:
        f.write(header + values.tobytes())
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "f.gz"), values)


def test_bad_files_give_clear_errors(folder, tmp_path):
    path, _, _ = folder
    (tmp_path / "junk").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="expected an IDX file"):
        mnist.read_idx(tmp_path / "junk")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]))
    with pytest.raises(ValueError, match="expected 17 bytes"):
        mnist.read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        mnist.load(path, "valid")
    with pytest.raises(FileNotFoundError, match="never downloads"):
        mnist.load(tmp_path / "empty", "train")
    with pytest.raises(ValueError, match="uint8"):
        mnist.write_idx(tmp_path / "b", np.zeros(3, dtype=np.float32))


def test_mismatched_images_and_labels_are_rejected(tmp_path):
    mnist.write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    mnist.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="labels"):
        mnist.load(tmp_path, "test")
