"""Checks of setup/bench's results file: what it says about the fault run.

Plain unittest cases (no database).
"""

import datetime
import json
import os
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "setup"))

import bench  # noqa: E402


class TestFaultSection(unittest.TestCase):
    def section(self, figures):
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "faults.json"), "w", encoding="utf-8") as f:
                json.dump(figures, f)
            # a fresh clone: the file's time is now, not the run's
            with mock.patch.object(bench, "BENCH", folder):
                return bench.fault_section()

    def test_quotes_each_scenario_run_not_the_file_time(self):
        text = self.section(
            [
                {
                    "scenario": "crash",
                    "lost": 0,
                    "date": "2026-11-30",
                    "commit": "abc1234",
                },
                {"scenario": "fuzz", "lost": 0},
            ]
        )
        self.assertIn("- **crash** (date 2026-11-30, commit abc1234): lost=0", text)
        self.assertIn("- **fuzz** (date unknown): lost=0", text)
        self.assertNotIn(datetime.date.today().isoformat(), text)


if __name__ == "__main__":
    unittest.main()
