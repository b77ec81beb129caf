"""CIFAR-10-C-style corruptions: shape/dtype, determinism, severity ordering, the
published definitions on hand-checkable images, and the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_core.data import corruptions as cc


@pytest.fixture(scope="module")
def images():
    from cifar_core.data import make_synthetic

    return make_synthetic(10, 60, seed=3)[2]  # 60 synthetic test images, uint8 (60, 32, 32, 3)


@pytest.mark.parametrize("name", cc.CORRUPTIONS)
def test_corruption_keeps_shape_and_dtype_and_leaves_its_input_alone(name, images):
    before = images.copy()
    out = cc.corrupt(images, name, 3)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert not np.array_equal(out, images)
    np.testing.assert_array_equal(images, before)


@pytest.mark.parametrize("name", cc.CORRUPTIONS)
def test_corruption_is_deterministic_per_seed(name, images):
    np.testing.assert_array_equal(
        cc.corrupt(images, name, 5, seed=7), cc.corrupt(images, name, 5, seed=7)
    )
    differs = not np.array_equal(
        cc.corrupt(images, name, 5, seed=7), cc.corrupt(images, name, 5, seed=8)
    )
    assert differs == (name in cc.RANDOM)  # only the noise depends on the seed


@pytest.mark.parametrize("name", cc.CORRUPTIONS)
def test_severities_are_monotone_in_effect(name, images):
    # Mean absolute change of the pixels grows with the published severity.
    change = [np.abs(cc.corrupt(images, name, s).astype(int) - images).mean() for s in range(1, 6)]
    assert all(a < b for a, b in zip(change, change[1:])), change


def test_noise_does_not_depend_on_how_many_images_come_with_it(images):
    np.testing.assert_array_equal(
        cc.corrupt(images, "gaussian_noise", 1)[:10], cc.corrupt(images[:10], "gaussian_noise", 1)
    )


def test_contrast_follows_the_published_definition():
    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, :, :16] = 200  # channel means 100; (x − m)·c + m with c = 0.15 at severity 5
    out = cc.corrupt(image, "contrast", 5)
    expected_bright = np.uint8((100 / 255 + (100 / 255) * 0.15) * 255)
    expected_dark = np.uint8((100 / 255 - (100 / 255) * 0.15) * 255)
    assert out[0, 0, 0, 0] == expected_bright and out[0, 0, 31, 0] == expected_dark


def test_brightness_raises_the_hsv_value():
    grey = np.full((1, 32, 32, 3), 100, np.uint8)
    out = cc.corrupt(grey, "brightness", 5)  # V + 0.3 on a grey image adds 0.3·255 to each channel
    assert (out == np.uint8((100 / 255 + 0.3) * 255)).all()


def test_gaussian_noise_has_the_published_scale():
    grey = np.full((20, 32, 32, 3), 128, np.uint8)
    for severity, sigma in enumerate(cc.PARAMETERS["gaussian_noise"], start=1):
        noisy = cc.corrupt(grey, "gaussian_noise", severity).astype(float) / 255
        assert noisy.std() == pytest.approx(sigma, rel=0.05)


def test_defocus_kernel_is_a_normalized_disk():
    for radius, alias in cc.PARAMETERS["defocus_blur"]:
        kernel = cc.defocus_kernel(radius, alias)
        assert kernel.shape == (17, 17) and kernel.sum() == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_allclose(kernel, kernel.T, atol=1e-7)
    # radius 1.5 covers the 3×3 block: 9 equal weights before anti-aliasing
    assert cc.defocus_kernel(1.5, 0.1)[7:10, 7:10] == pytest.approx(
        np.full((3, 3), 1 / 9), abs=1e-3
    )


def test_bad_arguments_are_refused(images):
    with pytest.raises(ValueError, match="unknown corruption 'fog'"):
        cc.corrupt(images, "fog", 1)
    with pytest.raises(ValueError, match="severity must be an integer from 1 to 5"):
        cc.corrupt(images, "contrast", 6)
    with pytest.raises(ValueError, match="uint8 images"):
        cc.corrupt(images.astype("float32"), "contrast", 1)


def test_cache_hit_on_second_call(images, monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR_REPORT_CACHE", str(tmp_path))
    first = cc.cached_corruption(images, "gaussian_noise", 3, seed=1, fingerprint="abc")
    path = cc.cache_file("abc", "gaussian_noise", 3, seed=1)
    assert path.is_file() and path.parent.parent == tmp_path / "corruptions"
    assert path.name == f"gaussian_noise-s3-seed1-v{cc.CORRUPTION_VERSION}.npz"
    assert not list(path.parent.glob("*.tmp"))
    calls = []
    monkeypatch.setattr(cc, "corrupt", lambda *a, **k: calls.append(a))
    np.testing.assert_array_equal(
        cc.cached_corruption(images, "gaussian_noise", 3, seed=1, fingerprint="abc"), first
    )
    assert calls == []


def test_cache_key_separates_seeds_severities_and_images(images, monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR_REPORT_CACHE", str(tmp_path))
    a = cc.cached_corruption(images, "gaussian_noise", 3, seed=1)
    assert not np.array_equal(a, cc.cached_corruption(images, "gaussian_noise", 3, seed=2))
    assert not np.array_equal(a, cc.cached_corruption(images, "gaussian_noise", 5, seed=1))
    assert cc.images_fingerprint(images) != cc.images_fingerprint(images[:-1])
    # a deterministic corruption is cached once, whatever the seed
    cc.cached_corruption(images, "contrast", 1, seed=1)
    cc.cached_corruption(images, "contrast", 1, seed=2)
    assert len(list((tmp_path / "corruptions").rglob("contrast-*.npz"))) == 1


def test_cache_of_another_shape_is_recomputed(images, monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR_REPORT_CACHE", str(tmp_path))
    cc.cached_corruption(images[:5], "contrast", 1, fingerprint="same")
    out = cc.cached_corruption(images, "contrast", 1, fingerprint="same")
    assert out.shape == images.shape
