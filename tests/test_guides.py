"""The Keras guides on customizing ``fit()`` and on writing a training loop from scratch run on kshim, each on
the backend it is written for, with only a smaller dataset (tests/programs/guides/: each file says its source and
what changed). Each runs as a script in a subprocess, as a user runs it, and asserts its own numbers."""

import os
import subprocess
import sys

import pytest

import kshim as keras

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "guides")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDES = {  # file -> the backend its guide is written for
    "custom_train_step_in_jax.py": "jax",
    "custom_train_step_in_torch.py": "torch",
    "writing_a_custom_training_loop_in_jax.py": "jax",
    "writing_a_custom_training_loop_in_torch.py": "torch",
}


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_guide_runs_unchanged(guide):
    backend = GUIDES[guide]
    if keras.config.backend() != backend:
        pytest.skip(f"{guide} is written for the {backend} backend")
    env = dict(os.environ, KSHIM_BACKEND=backend,
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                     if p]))
    done = subprocess.run([sys.executable, os.path.join(FOLDER, guide)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=FOLDER)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    assert done.stdout.rstrip().endswith("GUIDE OK"), done.stdout[-2000:]
