import pytest
import torch
from torch import nn

from core.models.face_strnn import FaceSTRNN, SpatialAttention, TemporalAttention

F, H, C = 10, 6, 2


def make_model(num_layers=2, dropout=0.3):
    torch.manual_seed(0)
    return FaceSTRNN(F, H, num_layers, C, dropout).eval()


def test_spatial_attention_gates_each_time_step():
    torch.manual_seed(0)
    layer = SpatialAttention(F)
    x = torch.randn(3, 5, F)
    gated, weights = layer(x)
    assert gated.shape == (3, 5, F)
    assert weights.shape == (3, 5, 1)
    assert ((weights > 0) & (weights < 1)).all()
    assert torch.allclose(gated, x * weights)


def test_temporal_attention_is_a_softmax_over_time():
    torch.manual_seed(0)
    layer = TemporalAttention(2 * H)
    x = torch.randn(3, 5, 2 * H)
    context, weights = layer(x)
    assert context.shape == (3, 2 * H)
    assert weights.shape == (3, 5, 1)  # as the reference returns them
    assert torch.allclose(weights.sum(dim=1), torch.ones(3, 1))
    assert torch.allclose(context, (weights * x).sum(dim=1))


def test_forward_shapes_and_embedding():
    model = make_model()
    x = torch.randn(4, 7, F)
    logits, spatial, temporal = model(x)
    assert logits.shape == (4, C)
    assert spatial.shape == (4, 7, 1)
    assert temporal.shape == (4, 7, 1)
    assert torch.allclose(temporal.sum(dim=1), torch.ones(4, 1))
    embedding = model(x, return_embedding=True)
    assert embedding.shape == (4, H)
    assert torch.allclose(model.fc2(embedding), logits)


def test_training_mode_runs_with_batch_norm():
    model = make_model().train()
    logits, _, _ = model(torch.randn(4, 3, F))
    logits.sum().backward()
    assert model.batch_norm.num_batches_tracked.item() == 1


def test_rejects_wrong_rank():
    with pytest.raises(ValueError, match="FaceSTRNN expects"):
        make_model()(torch.randn(4, F))


def test_lstm_is_bidirectional_with_dropout_only_between_layers():
    assert make_model(num_layers=1, dropout=0.5).lstm.dropout == 0.0
    assert make_model(num_layers=2, dropout=0.5).lstm.dropout == pytest.approx(0.5)
    assert make_model().lstm.bidirectional


def expected_shapes(f, h, c, num_layers):
    """Key -> shape mapping written by hand from the reference parameter list."""
    shapes = {
        "spatial_attention.attention.0.weight": (f // 2, f),
        "spatial_attention.attention.0.bias": (f // 2,),
        "spatial_attention.attention.2.weight": (1, f // 2),
        "spatial_attention.attention.2.bias": (1,),
    }
    for layer in range(num_layers):
        in_size = f if layer == 0 else 2 * h
        for suffix in ("", "_reverse"):
            shapes[f"lstm.weight_ih_l{layer}{suffix}"] = (4 * h, in_size)
            shapes[f"lstm.weight_hh_l{layer}{suffix}"] = (4 * h, h)
            shapes[f"lstm.bias_ih_l{layer}{suffix}"] = (4 * h,)
            shapes[f"lstm.bias_hh_l{layer}{suffix}"] = (4 * h,)
    shapes.update(
        {
            "temporal_attention.attention.0.weight": (h, 2 * h),
            "temporal_attention.attention.0.bias": (h,),
            "temporal_attention.attention.2.weight": (1, h),
            "temporal_attention.attention.2.bias": (1,),
            "fc1.weight": (h, 2 * h),
            "fc1.bias": (h,),
            "batch_norm.weight": (h,),
            "batch_norm.bias": (h,),
            "batch_norm.running_mean": (h,),
            "batch_norm.running_var": (h,),
            "batch_norm.num_batches_tracked": (),
            "fc2.weight": (c, h),
            "fc2.bias": (c,),
        }
    )
    return shapes


@pytest.mark.parametrize("num_layers", [1, 2])
def test_state_dict_names_and_shapes_match_spec(num_layers):
    state = make_model(num_layers=num_layers).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected_shapes(F, H, C, num_layers)


class RefSpatial(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.attention = nn.Sequential(
            nn.Linear(d, d // 2), nn.ReLU(), nn.Linear(d // 2, 1), nn.Sigmoid()
        )

    def forward(self, x):
        w = self.attention(x)
        return x * w, w


class RefTemporal(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.attention = nn.Sequential(nn.Linear(h, h // 2), nn.Tanh(), nn.Linear(h // 2, 1))

    def forward(self, x):
        w = torch.softmax(self.attention(x), dim=1)
        return torch.sum(w * x, dim=1), w


class ReferenceFaceSTRNN(nn.Module):
    """Written independently from the reference description, as the reference code would be."""

    def __init__(self, input_size, hidden_size, num_layers, num_classes, dropout):
        super().__init__()
        self.spatial_attention = RefSpatial(input_size)
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0,
        )
        self.temporal_attention = RefTemporal(hidden_size * 2)
        self.fc1 = nn.Linear(hidden_size * 2, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.batch_norm = nn.BatchNorm1d(hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        x, sw = self.spatial_attention(x)
        out, _ = self.lstm(x)
        ctx, tw = self.temporal_attention(out)
        h = self.dropout(self.batch_norm(torch.relu(self.fc1(ctx))))
        return self.fc2(h), sw, tw


def test_reference_state_dict_loads_strictly_and_matches():
    torch.manual_seed(3)
    reference = ReferenceFaceSTRNN(F, H, 2, C, 0.3)
    reference.train()
    reference(torch.randn(8, 5, F))  # move the batch-norm running statistics off defaults
    reference.eval()
    ours = FaceSTRNN(F, H, 2, C, 0.3).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(3, 9, F)
    with torch.no_grad():
        for mine, theirs in zip(ours(x), reference(x), strict=True):
            assert mine.shape == theirs.shape
            assert torch.equal(mine, theirs)


def test_init_kwargs_rebuild_the_model():
    model = make_model()
    assert model.init_kwargs == {
        "input_size": F,
        "hidden_size": H,
        "num_layers": 2,
        "num_classes": C,
        "dropout": 0.3,
    }
    FaceSTRNN(**model.init_kwargs).load_state_dict(model.state_dict(), strict=True)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_named_methods_agree_with_forward_exactly(mode):
    model = make_model()
    model.train(mode == "train")
    x = torch.randn(4, 7, F)
    torch.manual_seed(5)  # dropout draws the same masks in each pass
    logits, spatial, temporal = model(x)
    torch.manual_seed(5)
    assert torch.equal(model.logits(x), logits)
    torch.manual_seed(5)
    embedding = model.embed(x)
    torch.manual_seed(5)
    assert torch.equal(embedding, model(x, return_embedding=True))
    assert embedding.shape == (4, H)
    torch.manual_seed(5)
    attention = model.attend(x)
    assert torch.equal(attention.logits, logits)
    assert torch.equal(attention.temporal, temporal.squeeze(-1))  # (B, T)
    assert torch.equal(attention.spatial, spatial.squeeze(-1))  # (B, T)
    assert model.has_spatial_gate
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.logits_from_embedding(model.embed(x)), model(x)[0])
