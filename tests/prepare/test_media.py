"""Photos, video frames and audio as devices write them (train.prepare.media)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="train.prepare needs PyAV: pip install -e '.[prepare]'")
from PIL import Image  # noqa: E402

from tests.prepare.talking_heads import encode_video  # noqa: E402
from train.prepare import media  # noqa: E402
from train.prepare.media import MediaError, read_audio, read_image, video_frames  # noqa: E402


def test_16_bit_grey_is_rescaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    rgb = read_image(tmp_path / "g16.png").rgb
    assert rgb.shape == (32, 64, 3) and rgb.dtype == np.uint8
    expect = np.round(ramp / 65535 * 255)
    assert np.abs(rgb[:, :, 0].astype(int) - expect).max() <= 1
    assert np.all(rgb[:, :, 0] == rgb[:, :, 2])


def test_alpha_and_palette_transparency_become_white(tmp_path: Path) -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:4, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb = read_image(tmp_path / "a.png").rgb
    assert tuple(rgb[0, 0]) == (200, 0, 0) and tuple(rgb[7, 7]) == (255, 255, 255)
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    pal.putpixel((0, 0), 0)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    rgb = read_image(tmp_path / "p.png").rgb
    assert tuple(rgb[0, 0]) == (255, 255, 255) and tuple(rgb[5, 5]) == (10, 20, 30)


def test_cmyk_and_bilevel(tmp_path: Path) -> None:
    Image.new("CMYK", (16, 16), (255, 0, 0, 0)).save(tmp_path / "c.jpg", quality=95)
    r, g, b = read_image(tmp_path / "c.jpg").rgb[8, 8].astype(int)
    assert r < 40 and g > 215 and b > 215  # cyan
    Image.new("1", (16, 16), 1).save(tmp_path / "b.png")
    assert np.all(read_image(tmp_path / "b.png").rgb == 255)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 high; a white block top-left
    img[:5, :10] = 255
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    pil.save(tmp_path / "o.jpg", exif=exif, quality=95)
    rgb = read_image(tmp_path / "o.jpg").rgb
    assert rgb.shape == (40, 20, 3)
    assert rgb[2, -3].mean() > 200 and rgb[-3, 2].mean() < 50  # top-left moved top-right


def test_large_photos_are_reduced_and_huge_ones_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.new("RGB", (3000, 1000), (9, 9, 9)).save(tmp_path / "wide.png")
    frame = read_image(tmp_path / "wide.png")
    assert frame.rgb.shape == (683, 2048, 3) and frame.reduced_by == pytest.approx(3000 / 2048)
    monkeypatch.setattr(media, "MAX_PIXELS", 1_000_000)
    with pytest.raises(MediaError, match="over the limit"):
        read_image(tmp_path / "wide.png")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(MediaError, match="bad.jpg: not a readable image"):
        read_image(tmp_path / "bad.jpg")


def test_video_rotation_and_timestamps(tmp_path: Path) -> None:
    frames = []
    for k in range(10):
        img = np.full((32, 64, 3), 20 * k, np.uint8)
        img[:8, :8] = 255  # marker at the top-left of the stored picture
        frames.append(img)
    encode_video(tmp_path / "r.mp4", frames, 10, None, rotation=90)
    got, duration = video_frames(tmp_path / "r.mp4", 5)
    assert duration == pytest.approx(1.0, abs=0.15)
    assert [f.rgb.shape for f in got] == [(64, 32, 3)] * 5  # displayed upright: 32 wide
    # 90 degrees counter-clockwise moves the top-left corner to the bottom-left
    assert got[0].rgb[-3, 2].mean() > 200 and got[0].rgb[2, 2].mean() < 150
    times = [f.time for f in got]
    assert times == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9], abs=1e-6)
    picked, _ = video_frames(tmp_path / "r.mp4", 5, times=[0.4, 0.0])
    assert [f.time for f in picked] == pytest.approx([0.0, 0.4])
    assert read_audio(tmp_path / "r.mp4") is None


def test_audio_is_16k_mono(tmp_path: Path) -> None:
    import soundfile

    t = np.arange(44100) / 44100
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), -0.5 * np.sin(2 * np.pi * 440 * t)], 1)
    stereo[:, 1] *= 0.0
    soundfile.write(tmp_path / "a.flac", stereo, 44100)
    x = read_audio(tmp_path / "a.flac")
    assert x is not None and x.dtype == np.float32
    assert len(x) == pytest.approx(16000, abs=200)
    spec = np.abs(np.fft.rfft(x[1000:9000]))
    assert np.argmax(spec) * 16000 / 8000 == pytest.approx(440, abs=4)
    (tmp_path / "z.mp3").write_bytes(b"ID3 garbage" * 10)
    with pytest.raises(MediaError, match="z.mp3"):
        read_audio(tmp_path / "z.mp3")


def test_variable_frame_rate_times_come_from_timestamps(tmp_path: Path) -> None:
    import av

    times = [0.0, 0.05, 0.5, 0.55, 1.6, 2.0]  # irregular, as phones record
    with av.open(str(tmp_path / "vfr.mkv"), "w") as out:
        vs = out.add_stream("mpeg4", rate=1000)
        vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
        vs.codec_context.time_base = Fraction(1, 1000)
        for k, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * k, np.uint8), "rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
    # given times: the frame on screen at each time (the last one starting at or before it)
    got, _ = video_frames(tmp_path / "vfr.mkv", 3, times=[0.3, 1.0, 1.9, 1.95])
    assert [f.time for f in got] == pytest.approx([0.05, 0.55, 1.6], abs=2e-3)
    # the frame shown at 1.9 s is the fifth one (grey level 160), not "frame 1.9 * rate"
    assert abs(int(got[2].rgb.mean()) - 160) < 12
    assert video_frames(tmp_path / "vfr.mkv", 3, times=[2.5])[0][0].time == pytest.approx(2.0)
    # without given times: the first frame at or after n evenly spaced times
    spread, duration = video_frames(tmp_path / "vfr.mkv", 3)
    assert all(b.time > a.time for a, b in zip(spread, spread[1:], strict=False))
