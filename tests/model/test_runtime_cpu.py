"""Which CPUs `auto` runs (and trains) in bf16: where bf16 beats fp32, read from /proc/cpuinfo."""

from __future__ import annotations

import pytest

from nabiz.model.runtime import bf16_beats_fp32, parse_cpuinfo


def cpuinfo(vendor: str, flags: str) -> dict[str, str]:
    return parse_cpuinfo(
        f"processor\t: 0\nvendor_id\t: {vendor}\nflags\t\t: fpu sse avx2 fma {flags}\n\n"
        "processor\t: 1\nvendor_id\t: SomethingElse\n"
    )


@pytest.mark.parametrize(
    ("vendor", "flags", "faster"),
    [
        ("GenuineIntel", "avx512f avx512_bf16 amx_bf16 amx_int8 amx_tile", True),  # AMX
        ("AuthenticAMD", "avx512f avx512_bf16", True),  # Zen 4, Zen 5
        ("GenuineIntel", "avx512f avx512_bf16 avx512_fp16", False),  # AMX hidden, or none
        ("AuthenticAMD", "", False),  # AVX2 only
        ("GenuineIntel", "avx512f avx512_vnni", False),  # AVX-512 without bf16
    ],
)
def test_bf16_counts_as_faster_with_amx_or_with_avx512_bf16_on_amd(vendor, flags, faster):
    assert bf16_beats_fp32(cpuinfo(vendor, flags)) is faster


def test_an_unreadable_cpuinfo_counts_as_no_bf16():
    assert not bf16_beats_fp32(parse_cpuinfo(""))
