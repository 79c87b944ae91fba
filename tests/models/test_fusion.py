import numpy as np
import pytest
import torch

from core.models import MODEL_CLASSES, AudioRNN, FaceSTRNN, build_model
from core.models.fusion import FusionNet, late_fusion


def make_inputs(b=4, audio_dim=3, face_dim=5):
    torch.manual_seed(0)
    return (
        torch.randn(b, audio_dim),
        torch.randn(b, face_dim),
        torch.rand(b, 1),
        torch.ones(b, 3),
    )


def test_fusion_output_shape_and_init_kwargs():
    torch.manual_seed(0)
    model = FusionNet(audio_dim=3, face_dim=5).eval()
    assert model(*make_inputs()).shape == (4, 2)
    assert model.init_kwargs == {"audio_dim": 3, "face_dim": 5, "hidden_size": 32, "dropout": 0.3}
    assert model.fc1.in_features == 3 + 5 + 1 + 3


def test_fusion_accepts_flat_text_probabilities():
    model = FusionNet(3, 5).eval()
    audio, face, text, mask = make_inputs()
    assert torch.equal(model(audio, face, text, mask), model(audio, face, text.squeeze(1), mask))


def test_missing_modality_inputs_are_ignored():
    model = FusionNet(3, 5).eval()
    audio, face, text, mask = make_inputs()
    mask[1, 0] = 0  # participant 1 has no audio
    mask[2, 2] = 0  # participant 2 has no text
    reference = model(audio, face, text, mask)
    audio[1] = float("nan")
    text[2] = 123.0
    garbled = model(audio, face, text, mask)
    assert torch.isfinite(garbled).all()
    assert torch.equal(reference, garbled)
    zeroed = audio.clone()
    zeroed[1] = 0.0
    assert torch.equal(model(zeroed, face, text, mask), garbled)


def test_late_fusion_averages_available_probabilities():
    probs = {
        "audio": np.array([0.2, np.nan, 0.6, np.nan]),
        "face": np.array([0.4, 0.8, np.nan, np.nan]),
        "text": None,
    }
    fused = late_fusion(probs)
    np.testing.assert_allclose(fused[:3], [0.3, 0.8, 0.6])
    assert np.isnan(fused[3])


def test_late_fusion_errors():
    with pytest.raises(ValueError, match="at least one"):
        late_fusion({"audio": None})
    with pytest.raises(ValueError, match="differ in length"):
        late_fusion({"audio": np.zeros(2), "face": np.zeros(3)})


def test_build_model_from_checkpoint_fields():
    for model in (AudioRNN(4, 6, 1, 0.1), FaceSTRNN(4, 6, 1, 2, 0.1), FusionNet(3, 6)):
        rebuilt = build_model(type(model).__name__, model.init_kwargs)
        rebuilt.load_state_dict(model.state_dict(), strict=True)
    assert set(MODEL_CLASSES) == {"AudioRNN", "FaceSTRNN", "FusionNet"}
    with pytest.raises(ValueError, match="Unknown model class"):
        build_model("Transformer", {})


def test_fusion_of_real_embeddings():
    torch.manual_seed(0)
    audio_model = AudioRNN(4, 8, 1, 0.0).eval()
    face_model = FaceSTRNN(6, 5, 1, 2, 0.0).eval()
    audio_emb = audio_model(torch.randn(3, 7, 4), return_embedding=True)
    face_emb = face_model(torch.randn(3, 9, 6), return_embedding=True)
    fusion = FusionNet(audio_emb.shape[1], face_emb.shape[1]).eval()
    logits = fusion(audio_emb, face_emb, torch.rand(3), torch.ones(3, 3))
    assert logits.shape == (3, 2)


def test_named_methods_take_the_inputs_as_one_mapping_and_agree_with_forward():
    torch.manual_seed(0)
    model = FusionNet(audio_dim=4, face_dim=3, hidden_size=8).eval()
    inputs = {
        "audio_emb": torch.randn(5, 4),  # (B, A)
        "face_emb": torch.randn(5, 3),  # (B, Fe)
        "text_prob": torch.rand(5),  # (B,)
        "mask": torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]]),
    }
    logits = model(**inputs)
    assert torch.equal(model.logits(inputs), logits)
    hidden = model.embed(inputs)
    assert hidden.shape == (5, 8)
    assert torch.equal(model.logits_from_embedding(hidden), logits)
    with pytest.raises(TypeError, match="FusionNet has no attention"):
        model.attend(inputs["audio_emb"])


def test_named_inputs_are_the_three_source_layout_when_given_its_inputs():
    legacy = FusionNet(3, 5, hidden_size=8).eval()
    named = FusionNet(inputs={"audio_emb": 3, "face_emb": 5, "text_prob": 1}, hidden_size=8)
    named.load_state_dict(legacy.state_dict(), strict=True)
    named.eval()
    audio, face, text, mask = make_inputs()
    mask[0, 1] = 0
    assert torch.equal(legacy(audio, face, text, mask), named(audio, face, text, mask))
    assert named.init_kwargs == {
        "inputs": {"audio_emb": 3, "face_emb": 5, "text_prob": 1},
        "hidden_size": 8,
        "dropout": 0.3,
    }
    rebuilt = build_model("FusionNet", named.init_kwargs)
    rebuilt.load_state_dict(named.state_dict(), strict=True)
    with pytest.raises(ValueError, match="either inputs"):
        FusionNet(3, 5, inputs={"audio_emb": 3})
