"""A small company for identity tests: CRM, billing and ground truth of 40 people.

Six people are registered twice in the CRM, 30 have a billing account (some naming their CRM
customer), and three left the shop's shared info@ address instead of their own.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

FIRST = (
    "Ada Ben Cara Dev Ella Finn Gwen Hugo Isla Jack Kira Liam Mia Noah Olga Pete Quinn Rosa "
    "Sam Tara Uma Vic Wren Xena Yusuf Zoe Alan Bea Carl Dina Eric Fay Gus Hana Ivan Jude Kemal "
    "Lara Milo Nina"
).split()
LAST = (
    "Lovelace Okafor Novak Patel Schmidt Murphy Jones Dubois Fraser Kowalski Tanaka Byrne "
    "Rossi Adeyemi Ivanova Larsen Moreau Garcia Whitfield Nguyen Haddad Silva Evans Petrov "
    "Osei Hughes Turing Keller Lindqvist Mensah Brennan Farouk Gallagher Sato Volkov Quinlan "
    "Demir Costa Ashdown Romero"
).split()
PEOPLE = len(FIRST)
DUPLICATES = 6  # people 0-5 registered twice in the CRM
BILLED = 30  # people 0-29 have a billing account
SHARED_EMAIL = "info@acme-shop.co.uk"
SHARING = (36, 37, 38)  # left the shop's address instead of their own


CRM_HEADER = (
    "customer_id,first_name,last_name,email,phone,street,city,postcode,country,"
    "birth_date,signup_at,plan,updated_at,source_system"
)


def email_of(i: int) -> str:
    return f"{FIRST[i].lower()}.{LAST[i].lower()}@example.com"


def crm_row(i: int, customer_id: str, *, email: str, signup: str) -> list[str]:
    born = date(1960 + i % 35, 1 + i % 12, 1 + (i * 3) % 28)
    return [
        customer_id,
        FIRST[i],
        LAST[i],
        email,
        f"07911 {100000 + 7 * i}",
        f"{i + 1} {('High Street', 'Mill Lane', 'Park Road', 'Church Way')[i % 4]}",
        ("Leeds", "York", "Bristol", "Norwich", "Bath")[i % 5],
        f"LS{i + 1} {i % 9 + 1}AB",
        "GB",
        born.isoformat(),
        signup,
        "basic",
        signup,
        "crm",
    ]


def write_people(folder: Path) -> dict[str, Path]:
    """CRM, billing and ground-truth CSVs of the small company; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    crm: list[list[str]] = []
    billing: list[list[str]] = []
    truth: list[list[str]] = []
    for i in range(PEOPLE):
        person = f"P{i:03d}"
        email = SHARED_EMAIL if i in SHARING else email_of(i)
        crm.append(crm_row(i, f"C{1001 + i}", email=email, signup="2026-01-05T10:00:00Z"))
        truth.append(["crm.customers", f"C{1001 + i}", person])
        if i < DUPLICATES:
            # Even: the same address typed in capitals; odd: another address, same phone.
            again = email_of(i).upper() if i % 2 == 0 else f"{FIRST[i].lower()}{i}@mail.test"
            crm.append(crm_row(i, f"C{2001 + i}", email=again, signup="2026-03-09T12:00:00Z"))
            truth.append(["crm.customers", f"C{2001 + i}", person])
        if i < BILLED:
            holder = f"{LAST[i].upper()}, {FIRST[i]}" if i % 3 == 0 else f"{FIRST[i]} {LAST[i]}"
            billing.append(
                [
                    f"A{3001 + i}",
                    holder,
                    email_of(i) if i < 20 else "",
                    f"LS{i + 1} {i % 9 + 1}AB",
                    "GB",
                    "GBP",
                    "basic",
                    "2026-02-01T09:00:00Z",
                    f"C{1001 + i}" if i < 15 else "",
                ]
            )
            truth.append(["billing.accounts", f"A{3001 + i}", person])
    paths = {
        "crm": folder / "crm_customers.csv",
        "billing": folder / "billing_accounts.csv",
        "truth": folder / "persons.csv",
    }
    write_csv(paths["crm"], CRM_HEADER, crm)
    write_csv(
        paths["billing"],
        "account_id,holder_name,email,postcode,country,currency,plan,opened_at,crm_customer_ref",
        billing,
    )
    write_csv(paths["truth"], "dataset,record_id,person_id", truth)
    return paths


def write_csv(path: Path, header: str, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header.split(","))
        writer.writerows(rows)
