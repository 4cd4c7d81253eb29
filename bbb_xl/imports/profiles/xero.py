"""Xero sales invoices export (the columns of Xero's invoice import/export CSV, one row per line) -> `invoice`
events.

An invoice carries no contract: the Contract ID is read from `Reference` (Xero's invoice reference: put the
contract number there), else from TrackingOption1 when there is no Reference column. Date = InvoiceDate (Xero
writes dd/mm/yyyy: DMY); Amount = LineAmount, exclusive of tax (export with amounts tax exclusive; TaxAmount is
left out); Source ID = InvoiceNumber (numbered /1, /2... when an invoice has several lines).
"""
from __future__ import annotations

from ..mapping import EVENTS, Mapping, Rule
from . import has

NAME = "xero"
TITLE = "Xero sales invoices export"
SIGNATURE = ("ContactName", "InvoiceNumber", "InvoiceDate", "LineAmount")


def mapping(header) -> Mapping:
    contract = tuple(has(header, "Reference", "TrackingOption1")) or ("Reference",)
    rules = (Rule("Contract ID", sources=contract[:1]),
             Rule("Date", sources=("InvoiceDate",)),
             Rule("Event", "constant", value="invoice"),
             Rule("Amount", sources=("LineAmount",)),
             Rule("Source ID", sources=("InvoiceNumber",)))
    return Mapping(NAME, EVENTS, rules, (), (), "DMY", SIGNATURE, TITLE)
