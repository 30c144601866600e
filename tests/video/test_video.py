"""Video pipeline: a synthetic clip made here goes in, a labelled H.264 mp4 comes out."""
import threading
import time

import numpy as np
import pytest
import torch

import xai_helpers as xh
from xai_helpers.video.__main__ import main
from xai_helpers.video.explain import CamSmoother, FrameExplainer, explain_video, render_frame
from xai_helpers.video.files import VideoError, VideoWriter, read_frames, video_info
from xai_helpers.video.webcam import Camera, LiveCAMView, NoCameraError, VirtualCamera, open_camera

from checks import FPS, FRAMES, HEIGHT, WIDTH, check_heatmap_drawn, make_clip, synthetic_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("video") / "square.mp4")


def test_writer_round_trip_keeps_count_size_fps_and_content(clip):
    info = video_info(clip)
    assert (info.width, info.height, info.fps, info.frame_count) == (WIDTH, HEIGHT, FPS, FRAMES)
    decoded = list(read_frames(clip))
    assert len(decoded) == FRAMES
    for original, back in zip(synthetic_frames(), decoded):
        assert np.abs(original.astype(int) - back.astype(int)).mean() < 3     # H.264 is lossy
    assert [f[55, 20, 0] > 200 for f in decoded[:2]] == [True, True]       # RGB order kept
    assert len(list(read_frames(clip, start=3, stop=9, step=2))) == 3
    assert list(read_frames(clip, start=FRAMES + 5)) == []


def test_explain_video_preserves_frames_size_fps_and_draws_labels(model, clip, tmp_path):
    out = tmp_path / "explained.mp4"
    result = explain_video(clip, out, model, method="gradcam", lang="zh", batch_size=5,
                           progress=False)
    info = video_info(out)
    assert (info.width, info.height, info.fps, info.frame_count) == (WIDTH, HEIGHT, FPS, FRAMES)
    assert result.frames == FRAMES == sum(result.classes.values()) and result.fps > 0
    frames = list(read_frames(out))
    assert len(frames) == FRAMES
    band, below = frames[0][:20].astype(int), frames[0][60:].astype(int)
    assert (band.sum(axis=2) > 600).sum() > 30            # white text in the band
    assert (band.sum(axis=2) < 150).sum() > 300           # the dark band itself
    assert below.std() > 5
    assert sorted(tmp_path.iterdir()) == [out]            # no temporary file left


def test_the_heatmap_is_really_drawn(model, clip, tmp_path):
    check_heatmap_drawn(model, clip, tmp_path)


def test_explain_video_refuses_to_overwrite_unless_asked(model, clip, tmp_path):
    out = tmp_path / "mine.mp4"
    out.write_bytes(b"a learner's file")
    with pytest.raises(FileExistsError, match="overwrite"):
        explain_video(clip, out, model, progress=False)
    assert out.read_bytes() == b"a learner's file"
    explain_video(clip, out, model, method="CAM", max_frames=4, overwrite=True, progress=False)
    assert video_info(out).frame_count == 4


def test_an_interrupted_run_leaves_no_file(model, clip, tmp_path, monkeypatch):
    calls = []

    def explain_then_interrupt(self, x):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, x)

    original = FrameExplainer.explain
    monkeypatch.setattr(FrameExplainer, "explain", explain_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        explain_video(clip, tmp_path / "out.mp4", model, batch_size=4, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_writer_errors_leave_nothing(tmp_path):
    with pytest.raises(VideoError, match="even"):
        with VideoWriter(tmp_path / "odd.mp4", 10) as writer:
            writer.write(np.zeros((15, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        with VideoWriter(tmp_path / "float.mp4", 10) as writer:
            writer.write(np.zeros((16, 16, 3), np.float32))
    with pytest.raises(ValueError, match="16×16"):
        with VideoWriter(tmp_path / "sizes.mp4", 10) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
            writer.write(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(VideoError, match="No frames"):
        with VideoWriter(tmp_path / "empty.mp4", 10):
            pass
    with pytest.raises(FileNotFoundError, match="folder"):
        VideoWriter(tmp_path / "missing" / "out.mp4", 10)
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="SAMPLE_VIDEO"):
        video_info(tmp_path / "nope.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(5000))
    for path in (empty, corrupt):
        with pytest.raises(VideoError, match="decode"):
            video_info(path)
    with pytest.raises(VideoError, match="folder"):
        video_info(tmp_path)


def test_frame_explainer_equals_grad_cam_on_the_same_batch(model):
    frames = list(read_frames(xh.SAMPLE_VIDEO, start=200, stop=203))   # the cockatoo
    explainer = FrameExplainer(model, "Grad-CAM", target=89)
    explained = explainer(frames)
    reference = xh.GradCAM(model)(explainer.batch(frames).contiguous(), 89, size=None)
    assert torch.allclose(explained.maps, reference, atol=1e-5)      # measured 1e-6
    assert explained.shown.tolist() == [89, 89, 89]
    probabilities = xh.predict(model, explainer.batch(frames).contiguous())
    assert torch.allclose(explained.probability, probabilities.max(1).values, atol=1e-5)
    with pytest.raises(ValueError, match="Score-CAM"):
        FrameExplainer(model, "scorecam")
    with pytest.raises(ValueError, match="Did you mean"):
        FrameExplainer(model, "gradcm")
    with pytest.raises(ValueError, match="1000"):
        FrameExplainer(model, "CAM", target=1000)


def test_smoother_is_an_exponential_moving_average_and_reduces_flicker():
    smooth = CamSmoother(0.25)
    out = smooth(torch.tensor([[[4.0]], [[0.0]], [[0.0]]]))
    assert out.flatten().tolist() == [4.0, 3.0, 2.25]         # 0.25 * new + 0.75 * old
    noisy = torch.rand(50, 7, 7, generator=torch.Generator().manual_seed(0))
    flicker = (noisy[1:] - noisy[:-1]).abs().mean()
    smoothed = CamSmoother(0.3)(noisy)
    assert (smoothed[1:] - smoothed[:-1]).abs().mean() < 0.5 * flicker
    assert torch.equal(CamSmoother(1.0)(noisy), noisy)
    with pytest.raises(ValueError, match="1 = off"):
        CamSmoother(0.0)


def test_render_frame_matches_the_notebook_overlay():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    cam = rng.random((32, 48)).astype(np.float32)            # same size: no resize differences
    fast = render_frame(frame, cam, alpha=0.4)
    slow = np.round(xh.overlay_heatmap(frame, cam, alpha=0.4) * 255)
    assert np.abs(fast.astype(int) - slow).max() <= 2        # 8-bit rounding only


def test_command_line(clip, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    assert main([str(clip), str(out), "--method", "cam", "--lang", "zh", "--class", "89",
                 "--max-frames", "5", "--smooth", "0.5"]) == 0
    assert video_info(out).frame_count == 5
    assert "wrote" in capsys.readouterr().out
    assert main([str(clip), str(out)]) == 2                   # exists, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.mp4"), str(tmp_path / "x.mp4")]) == 2
    with pytest.raises(SystemExit):
        main([str(clip), str(tmp_path / "y.mp4"), "--class", "1000"])


def test_no_camera_is_reported_and_the_clip_stands_in(clip):
    with pytest.raises(NoCameraError, match="No camera at index 99"):
        Camera(99)
    camera, message = open_camera(99, fallback=clip, realtime=False)
    assert isinstance(camera, VirtualCamera) and "virtual camera" in message
    frames = [camera.read() for _ in range(FRAMES + 2)]      # loops at the end of the clip
    assert np.abs(frames[FRAMES].astype(int) - frames[0].astype(int)).mean() < 1
    with pytest.raises(NoCameraError):
        open_camera(99, fallback=None)


def test_live_view_runs_headless_on_the_virtual_camera(model, clip):
    view = LiveCAMView(model, "CAM", lang="zh", camera=VirtualCamera(clip, realtime=False),
                       width=128)
    assert view.run_frames(2) > 0 and view.frames_shown == 2
    first = view.image.value
    assert first[:2] == b"\xff\xd8"                           # a JPEG
    view.start()                                              # the background thread
    deadline = time.time() + 60
    while view.frames_shown < 6 and time.time() < deadline:
        time.sleep(0.05)
    view.stop()
    assert not view.running and view.error is None and view.frames_shown >= 6
    assert view.image.value != first
    assert view.start_button.disabled is False and view.stop_button.disabled is True
    assert not [t for t in threading.enumerate() if t.name == "LiveCAMView"]
    view.close()
