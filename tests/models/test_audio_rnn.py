import pytest
import torch
from torch import nn

from core.models.audio_rnn import AudioRNN


def make_model(**overrides):
    kwargs = {"input_size": 6, "hidden_size": 8, "num_layers": 1, "dropout": 0.3}
    kwargs.update(overrides)
    torch.manual_seed(0)
    return AudioRNN(**kwargs).eval()


def test_logits_embedding_and_attention_shapes():
    model = make_model()
    x = torch.randn(3, 5, 6)
    assert model(x).shape == (3, 2)
    assert model(x, return_embedding=True).shape == (3, 4)
    attention = model.attend(x)
    logits, weights = attention.logits, attention.temporal
    assert logits.shape == (3, 2) and attention.spatial is None
    assert weights.shape == (3, 5)
    assert torch.allclose(weights.sum(dim=1), torch.ones(3))
    assert (weights >= 0).all()
    assert torch.allclose(logits, model(x))


def test_embedding_is_relu_output():
    emb = make_model()(torch.randn(10, 4, 6), return_embedding=True)
    assert (emb >= 0).all()


def test_two_dimensional_input_gets_a_time_axis_of_one():
    model = make_model()
    x = torch.randn(4, 6)
    attention = model.attend(x)
    logits, weights = attention.logits, attention.temporal
    assert logits.shape == (4, 2)
    assert torch.allclose(weights, torch.ones(4, 1))
    assert torch.allclose(model(x), model(x.unsqueeze(1)))


def test_rejects_wrong_rank():
    with pytest.raises(ValueError, match="AudioRNN expects"):
        make_model()(torch.randn(2, 3, 4, 6))


def test_lstm_dropout_only_between_layers():
    assert make_model(num_layers=1, dropout=0.4).lstm.dropout == 0.0
    assert make_model(num_layers=2, dropout=0.4).lstm.dropout == pytest.approx(0.4)
    assert make_model(num_layers=1, dropout=0.4).dropout.p == pytest.approx(0.4)


def test_parameter_names_and_shapes_match_spec():
    f, h = 6, 8
    expected = {
        "lstm.weight_ih_l0": (4 * h, f),
        "lstm.weight_hh_l0": (4 * h, h),
        "lstm.bias_ih_l0": (4 * h,),
        "lstm.bias_hh_l0": (4 * h,),
        "lstm.weight_ih_l1": (4 * h, h),
        "lstm.weight_hh_l1": (4 * h, h),
        "lstm.bias_ih_l1": (4 * h,),
        "lstm.bias_hh_l1": (4 * h,),
        "attention.weight": (1, h),
        "attention.bias": (1,),
        "fc1.weight": (h // 2, h),
        "fc1.bias": (h // 2,),
        "fc2.weight": (2, h // 2),
        "fc2.bias": (2,),
    }
    state = make_model(num_layers=2).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected


class ReferenceAudioRNN(nn.Module):
    """Written independently from the reference description, as the reference code would be."""

    def __init__(self, input_size, hidden_size, num_layers, dropout):
        super().__init__()
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0,
        )
        self.attention = nn.Linear(hidden_size, 1)
        self.fc1 = nn.Linear(hidden_size, hidden_size // 2)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_size // 2, 2)

    def forward(self, x):
        if x.dim() == 2:
            x = x.unsqueeze(1)
        out, _ = self.lstm(x)
        w = torch.softmax(self.attention(out), dim=1)
        ctx = torch.sum(w * out, dim=1)
        return self.fc2(self.dropout(torch.relu(self.fc1(ctx))))


def test_reference_state_dict_loads_strictly_and_matches():
    torch.manual_seed(1)
    reference = ReferenceAudioRNN(6, 8, 2, 0.2).eval()
    ours = AudioRNN(6, 8, 2, 0.2).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(3, 7, 6)
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))


def test_init_kwargs_rebuild_the_model():
    model = make_model(num_layers=2)
    rebuilt = AudioRNN(**model.init_kwargs)
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    assert model.init_kwargs == {"input_size": 6, "hidden_size": 8, "num_layers": 2, "dropout": 0.3}
    assert "init_kwargs" not in dict(model.named_buffers())


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_named_methods_agree_with_forward_exactly(mode):
    model = make_model(num_layers=2)
    model.train(mode == "train")
    x = torch.randn(3, 5, 6)
    torch.manual_seed(5)  # dropout draws the same masks in each pass
    logits = model(x)
    torch.manual_seed(5)
    assert torch.equal(model.logits(x), logits)
    torch.manual_seed(5)
    assert torch.equal(model.attend(x).logits, logits)
    torch.manual_seed(5)
    embedding = model.embed(x)
    torch.manual_seed(5)
    assert torch.equal(embedding, model(x, return_embedding=True))
    assert embedding.shape == (3, 4)
    assert not model.has_spatial_gate
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.logits_from_embedding(model.embed(x)), model(x))
