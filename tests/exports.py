"""CSV files shaped like real exports, written by the tests that load them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LETTERS = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def write_churn(path: Path, rows: int = 200, seed: int = 7) -> pd.DataFrame:
    """Write a customer-churn export: a BOM, an ID column, blanks and a '?' in a numeric
    column, quoted text holding commas, a date column and a saved row index."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows)
    monthly = np.round(rng.uniform(18, 118, rows), 2)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], rows, p=[0.55, 0.25, 0.2])
    total = np.round(tenure * monthly, 2).astype(str).astype(object)
    total[tenure == 0] = " "  # new customers: a blank, as the export writes it
    total[np.flatnonzero(tenure > 0)[0]] = "?"
    logit = -1.0 + 1.5 * (contract == "Month-to-month") - 0.04 * tenure + 0.01 * (monthly - 60)
    churn = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    frame = pd.DataFrame(
        {
            "customerID": [f"{1000 + i}-{''.join(rng.choice(LETTERS, 5))}" for i in range(rows)],
            "gender": rng.choice(["Female", "Male"], rows),
            "tenure": tenure,
            "Contract": contract,
            "PaymentMethod": rng.choice(
                ["Electronic check", "Mailed check", "Credit card, automatic"], rows
            ),
            "MonthlyCharges": monthly,
            "TotalCharges": total,
            "SignupDate": (
                pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
            ).strftime("%Y-%m-%d"),
            "Churn": churn,
        }
    )
    frame.to_csv(path, index=True, encoding="utf-8-sig")  # the index: an 'Unnamed: 0' column
    return frame
