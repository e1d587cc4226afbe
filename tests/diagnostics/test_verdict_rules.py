"""The verdict's rules, each on a recorded report changed in the one fact that matters."""

import pytest
from pydantic import ValidationError

from diagnostics.agent.report import CondaPackage, Correctness, Report
from diagnostics.agent.verdict import arch_runs, implausibilities, judge, version_tuple

from .reports import fixture_report


def h100(**changes) -> Report:
    return fixture_report("h100_ok").model_copy(deep=True, update=changes)


def status(report: Report, check_id: str) -> str:
    check = judge(report).check(check_id)
    return check.status if check else "absent"


def test_driver_versions_compare_as_numbers_not_strings():
    report = fixture_report("driver_too_old")
    report.nvml.driver_version = "525.105.17"  # "525.105" < "525.60" as strings
    assert status(report, "driver-new-enough") == "pass"
    report.nvml.driver_version = "525.60.12"
    assert status(report, "driver-new-enough") == "fail"


@pytest.mark.parametrize(
    "system, driver, expected",
    [
        ("Windows", "528.33", "pass"),  # NVIDIA's table; 527.41 was a stale figure
        ("Windows", "527.41", "fail"),
        ("Linux", "525.60.13", "pass"),
        ("Linux", "520.61.05", "fail"),
    ],
)
def test_windows_and_linux_have_their_own_minimum_drivers(system, driver, expected):
    report = h100(correctness=[])  # a driver too old for torch's CUDA runs no CUDA op
    report.host.system = system
    report.nvml.driver_version = driver
    assert status(report, "driver-new-enough") == expected


@pytest.mark.parametrize(
    "cuda, driver, expected",
    [
        ("11.8", "450.80.02", "pass"),
        ("11.8", "450.51.06", "fail"),
        ("13.0", "575.57.08", "fail"),
        ("13.0", "580.65.06", "pass"),
    ],
)
def test_each_cuda_major_has_its_minimum_driver(cuda, driver, expected):
    report = h100(correctness=[])
    report.torch.cuda = cuda
    report.nvml.driver_version = driver
    assert status(report, "driver-new-enough") == expected


def test_a_too_old_driver_is_found_from_torchs_warning_when_nvml_is_missing():
    report = fixture_report("driver_too_old")
    report.nvml = report.nvml.model_copy(
        update={
            "available": False,
            "error": "pynvml-missing",
            "driver_version": None,
            "devices": [],
        }
    )
    check = judge(report).check("driver-new-enough")
    assert check.status == "fail" and "CUDA 11.4" in check.summary


@pytest.mark.parametrize(
    "arch, major, minor, runs",
    [
        ("sm_80", 8, 6, True),  # same major, newer minor: binary compatible
        ("sm_86", 8, 0, False),  # an older minor cannot run newer cubins
        ("sm_90", 12, 0, False),  # cubins never cross a major
        ("compute_90", 12, 0, True),  # PTX is JIT-compiled forward
        ("compute_90", 8, 9, False),
        ("sm_90a", 9, 0, True),
        ("sm_90a", 10, 0, False),  # arch-specific kernels run only on their arch
        ("sm_120", 12, 0, True),
    ],
)
def test_arch_compatibility_follows_cudas_rules(arch, major, minor, runs):
    assert arch_runs(major, minor, arch) is runs


def test_ptx_in_the_arch_list_lets_a_newer_gpu_pass():
    report = fixture_report("unsupported_arch")
    report.torch.arch_list = [*report.torch.arch_list, "compute_90"]
    assert status(report, "arch-supported") == "pass"


def test_a_pascal_gpu_on_a_cu13x_torch_is_sent_to_cu126_of_the_same_release_not_cu118():
    report = fixture_report("gpu_slower_than_cpu")  # MX150, sm_61
    report.torch.version, report.torch.cuda = "2.13.0+cu130", "13.0"
    report.torch.arch_list = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]
    report.nvml.driver_version = "580.95.05"
    check = judge(report).check("arch-supported")
    assert check.status == "fail" and "cu118" not in check.hint
    assert '"torch==2.13.*"' in check.hint and check.hint.endswith("whl/cu126`")


def test_a_pascal_gpu_on_torch_2_15_is_sent_back_to_2_14_with_cu126():
    report = fixture_report("gpu_slower_than_cpu")
    report.torch.version, report.torch.cuda = "2.15.0+cu132", "13.2"
    report.torch.arch_list = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]
    report.nvml.driver_version = "580.95.05"
    hint = judge(report).check("arch-supported").hint
    assert '"torch==2.14.*" "torchvision==0.29.*" "torchaudio==2.14.*"' in hint
    assert "whl/cu126" in hint


def test_blackwell_with_a_580_driver_gets_cu130_not_the_dropped_cu128():
    report = fixture_report("unsupported_arch")
    report.torch.version = "2.13.0+cu126"
    report.nvml.driver_version = "580.95.05"
    hint = judge(report).check("arch-supported").hint
    assert "whl/cu130" in hint and "cu128" not in hint


def test_a_k80_on_driver_470_is_not_told_to_update_to_a_driver_kepler_never_gets():
    report = fixture_report("driver_too_old")
    report.torch.devices = [
        d.model_copy(update={"name": "Tesla K80", "major": 3, "minor": 7})
        for d in report.torch.devices
    ]
    for d in report.nvml.devices:
        d.name, d.compute_capability = "Tesla K80", "3.7"
    report.nvml.driver_version = "470.256.02"
    hint = judge(report).check("driver-new-enough").hint
    assert "R470 is the last driver branch for Kepler GPUs" in hint
    assert "Update the NVIDIA driver" not in hint and "GPU server" in hint


@pytest.mark.parametrize("value", ["", "-1", "NoDevFiles", "3"])
def test_cuda_visible_devices_that_hide_every_gpu_fail_with_an_unset_hint(value):
    report = fixture_report("cuda_visible_devices_empty")
    report.variables.values["CUDA_VISIBLE_DEVICES"] = value
    check = judge(report).check("gpu-visible")
    assert check.status == "fail" and repr(value) in check.summary


def test_cuda_visible_devices_hint_on_windows_uses_windows_syntax():
    report = fixture_report("cuda_visible_devices_empty")
    report.host.system = "Windows"
    assert "Remove-Item Env:CUDA_VISIBLE_DEVICES" in judge(report).check("gpu-visible").hint


def test_a_gpu_hidden_without_a_visible_devices_variable_is_still_a_fail():
    report = fixture_report("cuda_visible_devices_empty")
    del report.variables.values["CUDA_VISIBLE_DEVICES"]
    check = judge(report).check("gpu-visible")
    assert check.status == "fail" and "driver sees the GPU but torch does not" in check.summary


@pytest.mark.parametrize(
    "error, words",
    [
        ("NVMLError_DriverNotLoaded", "modprobe nvidia"),
        ("NVMLError_LibRmVersionMismatch", "Reboot"),
        ("NVMLError_LibraryNotFound", "ubuntu-drivers"),
    ],
)
def test_each_nvml_error_gets_its_own_driver_hint(error, words):
    report = fixture_report("cuda_visible_devices_empty")
    report.nvml = report.nvml.model_copy(
        update={"available": False, "error": error, "devices": [], "driver_version": None}
    )
    check = judge(report).check("driver-present")
    assert check.status == "fail" and words in check.hint


def test_wsl_without_a_windows_driver_says_not_to_install_a_linux_one():
    report = fixture_report("rtx3060_laptop_wsl_ok")
    report.host.wsl_libcuda = False
    report.nvml = report.nvml.model_copy(
        update={"available": False, "devices": [], "error": "NVMLError_LibraryNotFound"}
    )
    report.torch.cuda_available, report.torch.device_count, report.torch.devices = False, 0, []
    verdict = judge(report)
    assert verdict.next_step == "wsl-driver"
    hint = verdict.check("wsl-driver").hint
    assert "never install a Linux NVIDIA driver" in hint and "/usr/lib/wsl/lib" in hint
    assert verdict.check("driver-present").blocked_by == "wsl-driver"


def test_a_linux_driver_installed_inside_wsl_is_flagged():
    report = fixture_report("rtx3060_laptop_wsl_ok")
    report.host.wsl_linux_driver = True
    check = judge(report).check("wsl-driver")
    assert check.status == "warn" and "apt-get remove --purge" in check.hint


def test_torch_from_the_user_site_fails_with_a_hint_to_remove_it():
    report = h100()
    report.packages.torch_outside_prefix = True
    report.packages.torch_origin = "~/.local/lib/python3.11/site-packages/torch/__init__.py"
    check = judge(report).check("torch-in-env")
    assert check.status == "fail" and "user site-packages" in check.hint
    # torchvision and torchaudio built for the old torch go with it.
    assert "`python -m pip uninstall -y torch torchvision torchaudio`" in check.hint
    assert not judge(report).objective_met


def test_conda_activated_but_another_python_running_names_the_env():
    report = fixture_report("venv_not_conda")
    report.env.kind = "none"
    report.env.activated_conda_prefix = "~/miniforge3/envs/torch-gpu"
    report.env.activated_conda_env = "torch-gpu"
    check = judge(report).check("conda-env")
    assert check.status == "fail" and "does not belong to it" in check.summary
    assert "conda activate torch-gpu" in check.hint


def test_a_venv_on_top_of_conda_is_still_not_a_conda_env():
    report = fixture_report("venv_not_conda")
    report.env.venv_base_is_conda = True
    check = judge(report).check("conda-env")
    assert check.status == "fail" and "built on a conda Python" in check.summary


def test_rocm_builds_are_not_cuda_builds():
    report = h100()
    report.torch.cuda, report.torch.hip, report.torch.version = None, "6.2.41133", "2.5.1+rocm6.2"
    check = judge(report).check("torch-cuda-build")
    assert check.status == "fail" and "ROCm" in check.summary


def test_a_pip_cpu_wheel_gets_the_pip_cuda_command_for_the_drivers_cuda():
    report = fixture_report("driver_too_old")
    report.torch.cuda, report.torch.version = None, "2.5.1+cpu"
    check = judge(report).check("torch-cuda-build")
    assert check.status == "fail" and "(+cpu)" in check.summary
    # Driver 470 runs no released build (all are CUDA 12 or 13): the driver comes first.
    assert check.hint.startswith("after updating the NVIDIA driver:")
    assert "pip uninstall -y torch torchvision torchaudio" in check.hint


def test_conda_torch_version_differing_from_the_imported_one_counts_as_mixed():
    report = fixture_report("conda_cpuonly")
    report.packages.pip = []
    report.torch.version = "2.4.0+cu121"
    report.torch.cuda = "12.1"
    assert status(report, "no-mixed-torch") == "fail"


def test_wrong_gpu_results_fail_the_tensor_op_check():
    report = h100()
    report.correctness[2] = Correctness(
        device="cuda", dtype="fp16", size=256, rel_err=0.41, threshold=5e-3, ok=False
    )
    check = judge(report).check("cuda-tensor-op")
    assert check.status == "fail" and "4.1e-01" in check.summary
    assert not judge(report).objective_met


def test_without_benchmarks_the_gpu_comparison_is_skipped_not_failed():
    report = h100(bench=None)
    assert status(report, "gpu-beats-cpu") == "skip"
    assert judge(report).objective_met


def test_no_system_nvcc_is_explicitly_fine():
    report = fixture_report("rtx3060_laptop_wsl_ok")
    check = judge(report).check("system-nvcc")
    assert check.status == "pass" and "that is fine" in check.summary


def test_a_report_cannot_carry_its_own_verdict():
    data = h100().model_dump(mode="json")
    data["verdict"] = {"objective_met": True, "checks": []}
    with pytest.raises(ValidationError, match="verdict"):
        Report.model_validate(data)


def test_blackwell_gets_a_cuda_12_8_wheel_in_hints():
    report = fixture_report("unsupported_arch")
    report.torch.cuda, report.torch.version = None, "2.7.0+cpu"
    assert "whl/cu128" in judge(report).check("torch-cuda-build").hint


def test_a_conda_forge_cpu_build_is_detected():
    report = fixture_report("conda_cpuonly")
    report.packages.conda = [
        CondaPackage(
            name="pytorch",
            version="2.3.1",
            build="cpu_mkl_py311h5f2c4a1_101",
            channel="conda-forge",
        )
    ]
    assert "conda build" in judge(report).check("torch-cuda-build").summary


def test_version_tuple_reads_driver_and_cuda_versions():
    assert version_tuple("550.54.15") == (550, 54, 15)
    assert version_tuple("12.4") == (12, 4)
    assert version_tuple(None) == ()


# ---------------------------------------------------------------- implausibilities


def test_a_matmul_above_the_theoretical_peak_is_implausible():
    report = h100()
    bf16 = next(r for r in report.bench.results if r.name == "matmul-bf16")
    bf16.median = bf16.max = 2.0e15  # H100 SXM dense bf16 peak is about 1.07e15
    found = implausibilities(report)
    assert any("matmul-bf16" in f and "theoretical peak" in f for f in found)


def test_a_copy_above_memory_bandwidth_is_implausible():
    report = h100()
    copy = next(r for r in report.bench.results if r.name == "copy" and r.device == "cuda")
    copy.median = copy.max = 9e12
    assert any("copy (cuda)" in f for f in implausibilities(report))


def test_a_torch_gpu_name_unknown_to_nvml_is_implausible():
    report = h100()
    report.torch.devices[0].name = "NVIDIA GeForce RTX 4090"
    report.torch.devices[0].uuid = None
    assert any("not among NVML's" in f for f in implausibilities(report))


def test_cuda_results_without_cuda_are_implausible():
    report = h100()
    report.torch.cuda_available = False
    assert any("CUDA results are present" in f for f in implausibilities(report))


def test_a_median_outside_its_spread_is_implausible():
    report = h100()
    report.bench.results[0].min = report.bench.results[0].median * 2
    assert any("outside its min..max" in f for f in implausibilities(report))


def test_wsl_compares_the_windows_driver_against_the_windows_minimum():
    report = fixture_report("rtx3060_laptop_wsl_ok")
    report.nvml.driver_version = "526.98"  # a Windows driver: below 528.33
    report.correctness = []
    check = judge(report).check("driver-new-enough")
    assert check.status == "fail" and "528.33" in check.summary
    assert "on Windows (not inside WSL)" in check.hint


def test_cuda_unknown_error_after_suspend_gets_the_uvm_reload_hint():
    report = fixture_report("cuda_visible_devices_empty")
    del report.variables.values["CUDA_VISIBLE_DEVICES"]
    report.torch.availability_warnings = [
        "CUDA initialization: CUDA unknown error - this may be due to an incorrectly set up "
        "environment, e.g. changing env variable CUDA_VISIBLE_DEVICES after program start. "
        "Setting the available devices to be zero."
    ]
    assert "modprobe nvidia_uvm" in judge(report).check("gpu-visible").hint


def test_a_mixed_install_that_breaks_the_import_is_still_named():
    report = fixture_report("mixed_pip_conda")
    report.torch = report.torch.model_copy(
        update={
            "importable": False,
            "version": None,
            "import_error": "OSError: libtorch_cuda.so: cannot open shared object file",
        }
    )
    verdict = judge(report)
    assert verdict.check("torch-importable").status == "fail"
    assert verdict.check("no-mixed-torch").status == "fail"


def test_an_old_driver_that_ran_cuda_correctly_is_a_warning_not_a_blocker():
    # CUDA's forward-compatibility package runs a newer runtime on an older datacenter driver.
    report = h100()
    report.nvml.driver_version = "520.61.05"
    check = judge(report).check("driver-new-enough")
    assert check.status == "warn" and "forward compatibility" in check.summary
    assert judge(report).objective_met
    report.correctness = []
    assert status(report, "driver-new-enough") == "fail"
    assert not judge(report).objective_met


def test_conda_env_b_running_while_env_a_is_activated_fails():
    report = h100()
    report.env.activated_conda_prefix = "/opt/conda/envs/torch-a"
    report.env.activated_conda_env = "torch-a"
    report.env.prefix, report.env.conda_env_name = "/opt/conda/envs/torch-b", "torch-b"
    check = judge(report).check("conda-env")
    assert check.status == "fail"
    assert "'torch-a' is activated, but this Python belongs to 'torch-b'" in check.summary


def test_two_pip_torches_in_the_env_and_the_user_site_fail_as_installed_twice():
    from diagnostics.agent.report import PipPackage

    report = fixture_report("venv_not_conda").model_copy(deep=True)
    report.packages.pip = [
        PipPackage(name="torch", version="2.13.0", installer="pip", location="~/venv/lib"),
        PipPackage(
            name="torch", version="2.11.0", installer="pip", location="~/.local/lib/python3.11"
        ),
    ]
    check = judge(report).check("no-mixed-torch")
    assert check.status == "fail" and "installed 2 times by pip" in check.summary


@pytest.mark.parametrize(
    "warning, error",
    [
        ("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.0.2", None),
        ("Failed to initialize NumPy: _ARRAY_API not found", None),
        (None, "RuntimeError: Numpy is not available"),
    ],
)
def test_torch_built_for_numpy_1_beside_numpy_2_fails(warning, error):
    report = h100()
    report.torch.import_warnings = [warning] if warning else []
    report.torch.numpy_version, report.torch.numpy_error = "2.0.2", error
    verdict = judge(report)
    check = verdict.check("torch-numpy")
    assert check.status == "fail" and 'pip install "numpy<2"' in check.hint
    assert not verdict.objective_met and verdict.next_step == "torch-numpy"


def test_numpy_that_works_with_torch_passes_and_no_numpy_is_no_check():
    report = h100()
    report.torch.numpy_version = "2.1.0"
    assert status(report, "torch-numpy") == "pass"
    report.torch.numpy_version = None
    assert status(report, "torch-numpy") == "absent"


def test_a_stray_nvml_library_on_ld_library_path_gets_its_own_hint_not_a_driver_reinstall():
    report = h100()
    report.variables.ld_library_path_set = True
    report.variables.ld_library_path_driver_libs = ["~/old-cuda/lib64/libnvidia-ml.so.1"]
    report.nvml = report.nvml.model_copy(
        update={"available": False, "devices": [], "error": "NVMLError_LibRmVersionMismatch"}
    )
    verdict = judge(report)
    assert verdict.next_step == "driver-libs"
    hint = verdict.check("driver-libs").hint
    assert "unset LD_LIBRARY_PATH" in hint and "ECC" not in hint and "reinstall" not in hint
    report = h100()
    report.variables.ld_library_path_driver_libs = ["/usr/local/nvidia/lib64/libcuda.so.1"]
    assert status(report, "driver-libs") == "pass"  # a container's mounted driver: fine


def test_a_garbage_allocator_setting_is_named_instead_of_an_ecc_hint():
    report = h100()
    report.variables.values["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:maybe"
    for c in report.correctness:
        if c.device == "cuda":
            c.ok, c.rel_err = False, None
            c.error = "RuntimeError: Expected a single True/False argument for expandable_segments"
    check = judge(report).check("cuda-tensor-op")
    assert "PYTORCH_CUDA_ALLOC_CONF" in check.summary
    assert "unset PYTORCH_CUDA_ALLOC_CONF" in check.hint and "ECC" not in check.hint
