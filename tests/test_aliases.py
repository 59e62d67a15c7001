"""Module paths Ray programs import from: flare._raylet, flare.cloudpickle,
flare.util.accelerators (aliases of flare's own classes and constants)."""

from __future__ import annotations

import importlib
import warnings

import cloudpickle
import pytest

import flare

pytestmark = pytest.mark.timeout(120)


def test_raylet_module_exports_the_object_ref_classes():
    from flare._raylet import ObjectRef, ObjectRefGenerator, StreamingObjectRefGenerator

    assert ObjectRef is flare.ObjectRef
    assert ObjectRefGenerator is flare.ObjectRefGenerator is StreamingObjectRefGenerator
    assert flare._raylet.ObjectRef is flare.ObjectRef


def test_cloudpickle_module_is_the_cloudpickle_api():
    from flare import cloudpickle as flare_cloudpickle

    for name in cloudpickle.__all__:
        assert getattr(flare_cloudpickle, name) is getattr(cloudpickle, name), name
    assert flare_cloudpickle.CloudPickler is cloudpickle.CloudPickler
    offset = 3
    restored = flare_cloudpickle.loads(flare_cloudpickle.dumps(lambda x: x + offset))
    assert restored(4) == 7
    assert isinstance(flare_cloudpickle.DEFAULT_PROTOCOL, int)
    assert importlib.import_module("flare.cloudpickle") is flare_cloudpickle


def test_accelerator_constants_have_ray_names_and_values():
    from flare.util import accelerators
    from flare.util.accelerators import (AMD_INSTINCT_MI250x, AWS_NEURON_CORE, GOOGLE_TPU_V4,
                                         INTEL_MAX_1550, NVIDIA_A100, NVIDIA_H100,
                                         NVIDIA_TESLA_V100)

    assert (NVIDIA_TESLA_V100, NVIDIA_A100, NVIDIA_H100) == ("V100", "A100", "H100")
    assert AMD_INSTINCT_MI250x == "AMD-Instinct-MI250X"
    assert INTEL_MAX_1550 == "Intel-GPU-Max-1550"
    assert GOOGLE_TPU_V4 == "TPU-V4"
    assert AWS_NEURON_CORE == "aws-neuron-core"
    assert accelerators.NVIDIA_A100_80G == "A100-80G"
    assert flare.util.accelerators is accelerators
    assert "NVIDIA_TESLA_V100" in accelerators.__all__


def test_deprecated_tesla_a100_name_warns_and_means_a100():
    from flare.util import accelerators

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert accelerators.NVIDIA_TESLA_A100 == "A100"
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    with pytest.raises(AttributeError):
        accelerators.NVIDIA_NO_SUCH_CARD


def test_accelerator_constants_are_accepted_as_accelerator_type():
    from flare.util.accelerators import NVIDIA_TESLA_V100

    @flare.remote(accelerator_type=NVIDIA_TESLA_V100)
    def on_v100():
        return 1

    @flare.remote
    class OnV100:
        pass

    assert on_v100.options(accelerator_type=NVIDIA_TESLA_V100) is not None
    assert OnV100.options(accelerator_type=NVIDIA_TESLA_V100) is not None
