"""normcode.experiments.style_tasks: the two style tasks of chapters 6 and 10."""
import pytest
import torch

import normcode as nc
from normcode.experiments import load_digits, small_cnn
from normcode.experiments import style_tasks as st


def test_nuisance_task_keeps_digits_and_shifts_test_styles():
    task = st.style_nuisance_digits(seed=0)
    digits = load_digits(seed=0)
    assert task.data.num_classes == 10
    assert torch.equal(task.data.y_train, digits.y_train) and torch.equal(task.data.y_test, digits.y_test)
    # every image is a * digit + b with the recorded style
    a, b = task.contrast_train.view(-1, 1, 1, 1), task.brightness_train.view(-1, 1, 1, 1)
    assert torch.allclose(task.data.X_train, a * digits.X_train + b)
    assert 0.5 <= float(task.contrast_train.min()) and float(task.contrast_train.max()) <= 2.0
    assert float(task.brightness_train.abs().max()) <= 0.5
    outside = (task.contrast_test < 0.5) | (task.contrast_test > 2.0) | (task.brightness_test.abs() > 0.5)
    assert float(outside.float().mean()) > 0.7          # most test styles were never seen in training


def test_tasks_are_deterministic_and_seeded():
    for make in st.STYLE_TASKS.values():
        one, two, other = make(seed=1), make(seed=1), make(seed=2)
        assert torch.equal(one.data.X_train, two.data.X_train) and torch.equal(one.data.y_test, two.data.y_test)
        assert not torch.equal(one.data.X_train, other.data.X_train)


def test_nuisance_training_styles_do_not_depend_on_test_ranges():
    shifted = st.style_nuisance_digits(seed=3)
    plain = st.style_nuisance_digits(seed=3, test_contrast=(0.5, 2.0), test_brightness=(-0.5, 0.5))
    assert torch.equal(shifted.data.X_train, plain.data.X_train)
    assert float(plain.contrast_test.max()) <= 2.0


def test_label_task_labels_are_the_style():
    task = st.style_label_digits(seed=0)
    y, a, b = task.data.y_train, task.contrast_train, task.brightness_train
    assert task.data.num_classes == 4 and len(st.STYLE_LABEL_NAMES) == 4
    assert torch.equal(y // 2, (a > 1).long()) and torch.equal(y % 2, (b > 0).long())
    counts = torch.bincount(y, minlength=4)
    assert int(counts.min()) > 0.2 * len(y)              # the four styles are balanced
    assert torch.equal(task.digit_train, load_digits(seed=0).y_train)


def test_instance_norm_erases_the_label_of_the_label_task():
    # After instance normalization, a faint-dark and a strong-light version of one digit coincide (up to eps).
    task = st.style_label_digits(seed=0)
    digits = load_digits(seed=0).X_train
    inorm = nc.InstanceNorm2d(1)
    assert torch.allclose(inorm(task.data.X_train), inorm(digits), atol=2e-3)


def test_bad_ranges_are_clear_errors():
    with pytest.raises(ValueError, match="overlapping"):
        st.style_label_digits(faint=(0.25, 3.0))
    with pytest.raises(ValueError, match="overlapping"):
        st.style_label_digits(dark=(-1.0, 0.5))
    with pytest.raises(ValueError, match="contrast"):
        st.style_nuisance_digits(train_contrast=(-1.0, 2.0))
    with pytest.raises(ValueError, match="train_brightness"):
        st.style_nuisance_digits(train_brightness=(1.0, -1.0))
    with pytest.raises(ValueError, match="task must be"):
        st.train_style_model("colour", "batch")
    with pytest.raises(ValueError, match="positive"):
        st.contrast_sweep(small_cnn(seed=0), torch.rand(3, 1, 8, 8), torch.zeros(3, dtype=torch.long), [-1.0])


def test_instance_norm_network_is_style_invariant_and_sweep_is_flat():
    net = small_cnn(norm="instance", seed=0).eval()
    X = load_digits(seed=0).X_test[:50]
    y = net(X).argmax(1)
    acc = st.contrast_sweep(net, X, y, [0.2, 1.0, 5.0], brightness=0.7)
    assert torch.allclose(acc, torch.ones(3), atol=0.03)


def test_compare_on_style_tasks_shapes():
    runs = st.compare_on_style_tasks(norms=("instance",), seeds=(0,), steps={"nuisance": 5, "label": 5})
    assert set(runs.label) == {"instance"} and len(runs.nuisance_shifted["instance"]) == 1
    assert runs.worst("label", "instance") == runs.best("label", "instance") == runs.mean("label", "instance")
