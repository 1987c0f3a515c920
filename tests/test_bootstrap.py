"""Checks of the checkout's own tooling: setup/bootstrap and the addons' wheels.

Plain unittest cases (no database); they run setup/bootstrap and pip as subprocesses.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile
from pathlib import Path

# tests/ is collected through .build/addons/integration_suite, a symlink to the root
ROOT = Path(__file__).resolve().parents[1]
ADDONS = (
    "integration_core",
    "integration_shopify",
    "integration_stripe",
    "integration_carrier",
)


def run_bootstrap(project, env=None):
    """Run ``project``'s setup/bootstrap; return its result and the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(
        [str(project / "setup" / "bootstrap")],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, time.monotonic() - started


class TestBootstrap(unittest.TestCase):
    def test_fails_fast_without_odoo_source_or_network(self):
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp, "project")
            shutil.copytree(ROOT / "setup", project / "setup")
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("INTEGRATION_", "ODOO_"))
            }
            env.update(
                ODOO_SRC="/nonexistent",
                ODOO_GIT_URL="http://127.0.0.1:9/odoo.git",  # nothing listens there
                INTEGRATION_VENV=str(Path(tmp, "venv")),
            )
            result, elapsed = run_bootstrap(project, env)
            self.assertNotEqual(result.returncode, 0, result.stdout)
            self.assertIn("ODOO_SRC", result.stderr)
            self.assertIn("/nonexistent", result.stderr)
            self.assertLess(elapsed, 60)
            # it failed before making a virtualenv or leaving a partial clone behind
            self.assertFalse(Path(tmp, "venv").exists())
            self.assertFalse((project / ".build" / "odoo-18.0").exists())
            self.assertFalse((project / ".build" / "odoo-18.0.partial").exists())

    def test_second_run_is_a_quick_no_op(self):
        # setup/test ran setup/bootstrap just before the tests, with this environment
        result, elapsed = run_bootstrap(ROOT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("==> Python packages\n    up to date\n", result.stdout)
        self.assertLess(elapsed, 30)


class TestAddonWheels(unittest.TestCase):
    def test_each_addon_builds_a_wheel(self):
        with tempfile.TemporaryDirectory() as tmp:
            for addon in ADDONS:
                with self.subTest(addon=addon):
                    result = subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "pip",
                            "wheel",
                            "--disable-pip-version-check",
                            "--no-deps",
                            "--no-build-isolation",
                            str(ROOT / addon),
                            "-w",
                            tmp,
                        ],
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        text=True,
                        timeout=120,
                        check=False,
                    )
                    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
                    wheels = list(Path(tmp).glob(f"odoo_addon_{addon}-18.0.*.whl"))
                    self.assertEqual(len(wheels), 1, os.listdir(tmp))
                    with zipfile.ZipFile(wheels[0]) as wheel:
                        self.assertIn(
                            f"odoo/addons/{addon}/__manifest__.py", wheel.namelist()
                        )
