"""QuickBooks Online invoices (the invoice import / export layout, one row per invoice line) -> `invoice` events.

An invoice carries no contract: the profile reads the Contract ID from a `Contract ID` custom-field column when
the export has one, else from `Memo` (put the contract number there). Date = InvoiceDate; Amount = ItemAmount,
the line amount before tax (ItemTaxAmount is not revenue nor billings of the contract); Source ID = InvoiceNo
(numbered /1, /2... when an invoice has several lines), so re-importing the same invoices changes nothing.
"""
from __future__ import annotations

from ..mapping import EVENTS, Mapping, Rule
from . import has

NAME = "quickbooks"
TITLE = "QuickBooks Online invoices export"
SIGNATURE = ("InvoiceNo", "Customer", "InvoiceDate", "ItemAmount")


def mapping(header) -> Mapping:
    contract = tuple(has(header, "Contract ID", "Memo")) or ("Contract ID",)
    rules = (Rule("Contract ID", sources=contract),
             Rule("Date", sources=("InvoiceDate",)),
             Rule("Event", "constant", value="invoice"),
             Rule("Amount", sources=("ItemAmount",)),
             Rule("Source ID", sources=("InvoiceNo",)))
    return Mapping(NAME, EVENTS, rules, (), (), "MDY", SIGNATURE, TITLE)
