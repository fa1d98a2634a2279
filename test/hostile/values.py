"""Argument values for the hostile suite: a sane value per argument (by name, then by type)
and the boundary and garbage values of each type. Every value is a Python str (a literal
the server casts to the argument's type) or None (SQL NULL); nothing here is random except
through the caller's seeded generator."""

OMIT = object()   # "leave the column out" (ledger INSERT/COPY)

# master data of test/hostile/setup.sql
SANE = {
    "item": "09506000134352", "lot_item": "09506000134369", "serial_item": "09506000134376",
    "pack": "19506000134359", "kit": "09506000134383", "stocked_kit": "09506000134390",
    "dc": "0614141000012", "store1": "0614141000029", "store2": "0614141000036",
    "store3": "0614141000043", "transit": "0614141000050", "plant": "0614141000067",
    "outlet": "0614141000074",
}

# filled in by hostile.py from the catalog: enum labels and composite field counts
ENUMS = {}
COMPOSITES = {}

_seq = [0]


def _next(prefix):
    _seq[0] += 1
    return "%s-%d" % (prefix, _seq[0])


CONTROL = "".join(chr(c) for c in range(1, 32)) + "\x7f"
TEN_KB = "x" * 10240

KEY_GARBAGE = [
    "", " ", "   ", "abc", "0950600013435", "09506000134353", "9506000134353",
    "1" * 30, "9" * 19, "99999999999999999999", "123456789012345678901234",
    "-1", "+9506000134352", " 09506000134352 ", "09506000134352\t", "0950600\x01134352",
    "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", "0x1F", "1e5", "0", "00000000000000",
    "96385074", "614141000012", "106141412345678908", "0614141000012", "9" * 13, "12345670",
]
LOT_GARBAGE = [
    "", " ", "A" * 20, "A" * 21, "A" * 200, "ab\x01cd", "lot'1", 'lot"1', "\u00e9t\u00e9", "%s",
    "\\", "a b", "<>", "LOT-A", "lot\n", CONTROL[:10], "~!@#", "x" * 10240, "ABC123", "-",
]
NUMERIC = ["0", "-1", "1", "1e300", "-1e300", "NaN", "Infinity", "-Infinity", "1e-30", "0.5", "-0",
           "1e1000", "123456789012345678901234567890.123456789", "2147483648", "-9223372036854775809"]
INTEGER = ["0", "-1", "1", "2147483647", "-2147483648"]
SMALLINT = ["0", "-1", "32767", "-32768"]
BIGINT = ["0", "-1", "1", "9223372036854775807", "-9223372036854775808"]
TEXT = ["", TEN_KB, "'", "''", '"', "\\", "%s", "%I %L %1$s %", "'); DROP TABLE inventory_sync.ledger;--",
        "\"); DROP TABLE inventory_sync.ledger;--", CONTROL, "a b", '"Quoted Ident"',
        "pg_catalog.pg_authid", "\u00dcn\u00efc\u00f6d\u00e9 \u2603", "\n\r\t", "NULL", "*", "$$", ";",
        "x" * 64, "inventory_sync", "web,market", "released; DELETE FROM x"]
TIMESTAMPTZ = ["-infinity", "infinity", "4713-01-01 00:00:00+00 BC", "294276-12-31 23:59:59+00",
               "1970-01-01 00:00:00+00", "2000-02-29 12:00:00+14", "epoch"]
DATE = ["-infinity", "infinity", "4713-01-01 BC", "5874897-12-31", "2000-02-29", "1970-01-01"]
INTERVAL = ["0", "-1 day", "178000000 years", "-178000000 years", "1 microsecond", "@ 1 mon -30 days",
            "-2147483648 days", "2147483647 days"]
BOOLEAN = ["true", "false"]
REGCLASS = ["pg_catalog.pg_authid", "pg_catalog.pg_class", "inventory_sync.ledger", "inventory_sync.balance",
            "inventory_sync.reservation_posting", "0", "1262", "public.hostile_feed_bad",
            "public.hostile_feed_view", "inventory_sync.stock", "pg_catalog.pg_statistic",
            "inventory_sync.ledger_pkey", "inventory_sync.balance_balance_id_seq"]
JSONB = ["{}", "[]", "null", '"x"', "[" * 200 + "]" * 200, '{"a": 1e999999}', '{"": {"": null}}']
PG_LSN = ["0/0", "FFFFFFFF/FFFFFFFF", "0/1"]


GS1_GARBAGE = [
    "(01)09506000134352(17)261231(10)ABC123", "(01)", "(01)0950600013435", "(01)09506000134353",
    "(99)x", "(10)" + "A" * 21, "(10)", "(17)000000", "(17)991332", "(11)260230", "(17)260200",
    "(00)106141412345678908", "(00)106141412345678909", "(30)" + "9" * 9, "(37)", "(37)" + "9" * 40,
    "((01))09506000134352", "(10)A" * 200, "]C1", "]d2", "]Q3", "]e0", "]C10109506000134352",
    "]d2010950600013435217261231\x1d10ABC", "0109506000134352\x1d\x1d10A", "\x1d", "\x1d" * 50,
    "]C1" + "\x1d" * 3, "01095060001343521726123110ABC123\x1d21XYZ", "(21)" + "\x01",
    "(01)09506000134352(01)09506000134352", "(02)09506000134352(37)12", "(15)260231", "(", ")", "()",
    "(0", "(01", "(01)x", "(8200)http://x", "(7003)2612311230", "(3103)000123", "(10)\u00e9",
    "01" + "0" * 14, "00" + "1" * 18, "17" + "9" * 6, "10" + "%" * 20, "(10)" + "A" * 20 + "(21)" + "B" * 20,
]
GS1_GARBAGE = [v.replace("\\x1d", "\x1d").replace("\\x01", "\x01").replace("\\u00e9", "\u00e9") for v in GS1_GARBAGE]
KEY_BODIES = ["950600013435", "9506000134", "061414100001", "10614141234567890", "1234567", "12345678901",
              "1234567890123", "12345678901234", "0" * 12, "9" * 17, "9" * 18, " 950600013435 "]


def pool_for(fname, name, typ):
    """The pool of an argument, knowing the function: the identifier functions get the
    identifier garbage on their text arguments too."""
    t = base(typ)
    if t in ("text", "cstring"):
        for prefix, extra in (("gtin", KEY_GARBAGE + KEY_BODIES), ("gln", KEY_GARBAGE + KEY_BODIES),
                              ("sscc", KEY_GARBAGE + KEY_BODIES), ("lot_number", LOT_GARBAGE),
                              ("serial_number", LOT_GARBAGE), ("gs1_parse", GS1_GARBAGE)):
            if fname.startswith(prefix):
                return extra + pool(name, typ)
    return pool(name, typ)


def _array_pool(elem_type):
    sane_elem = sane("", elem_type, None, None) or "1"
    big = "{" + ",".join([sane_elem] * 5000) + "}"
    return ["{}", "{NULL}", "{%s,NULL}" % sane_elem, "{{%s},{%s}}" % (sane_elem, sane_elem),
            "[5:6]={%s,%s}" % (sane_elem, sane_elem), big]


def base(typ):
    return typ.replace("inventory_sync.", "")


def pool(name, typ):
    """Boundary and garbage values of an argument."""
    t = base(typ)
    if t.endswith("[]"):
        elem = typ[:-2]
        p = _array_pool(elem)
        if base(elem) in ("numeric", "bigint", "integer"):
            p += ["{-1,0,1e300}", "{NaN,Infinity,-Infinity}", "{" + ",".join(["1"] * 100) + "}"]
        return p
    if t in ("gtin", "gln", "sscc"):
        return KEY_GARBAGE
    if t in ("lot_number", "serial_number"):
        return LOT_GARBAGE
    if t == "numeric":
        return NUMERIC
    if t == "integer":
        return INTEGER
    if t == "smallint":
        return SMALLINT
    if t == "bigint":
        return BIGINT
    if t in ("text", "cstring", "name", "character varying"):
        extra = []
        if name in ("kind",):
            extra = ["on_hand", "available"]
        elif name in ("absent",):
            extra = ["keep", "zero"]
        elif name in ("scope",):
            extra = ["feed", "owned"]
        elif name in ("on_error",):
            extra = ["refuse", "skip"]
        elif name in ("bucket", "from_bucket", "to_bucket"):
            extra = ["receiving", "qa_hold", "blocked", "nosuchbucket"]
        elif name in ("channel",):
            extra = ["market", "outlet", "nosuch"]
        elif name in ("source",):
            extra = ["erp", "pos", "mes", "nosuch"]
        return TEXT + extra
    if t == "timestamp with time zone":
        return TIMESTAMPTZ
    if t == "date":
        return DATE
    if t == "interval":
        return INTERVAL
    if t == "boolean":
        return BOOLEAN
    if t == "regclass":
        return REGCLASS
    if t in ("jsonb", "json"):
        return JSONB
    if t == "pg_lsn":
        return PG_LSN
    if typ in ENUMS:
        return ENUMS[typ]
    if typ in COMPOSITES:
        n = COMPOSITES[typ]
        return ["(" + "," * (n - 1) + ")", "(" + ",".join(["0"] * n) + ")"]
    return TEXT


def sane(name, typ, rng, role):
    """A value that lets the call get past its argument checks as far as possible."""
    t = base(typ)
    S = SANE
    pick = (lambda seq: rng.choice(seq)) if rng else (lambda seq: seq[0])
    if t.endswith("[]"):
        e = sane(name, typ[:-2], rng, role)
        return "{%s}" % e if e is not None else "{}"
    if t == "gtin":
        return {"lot_gtin": S["lot_item"], "kit": S["kit"]}.get(name, S["item"])
    if t == "gln":
        return {"in_transit": S["transit"], "to_location": S["store1"]}.get(name, S["dc"])
    if t == "sscc":
        return "106141412345678908"
    if t == "lot_number":
        return "LOT-A"
    if t == "serial_number":
        return "SN-001"
    if t == "numeric":
        return {"tolerance": "0", "tolerance_pct": "0", "on_hand": "10", "delta": "1"}.get(name, "1")
    if t == "integer":
        return {"periods": "4", "horizon_days": "30", "horizon_weeks": "4", "chunk_size": "1000",
                "min_shelf_life_days": "0"}.get(name, "1")
    if t == "bigint":
        if name in ("reservation_id",):
            return str(pick(range(1, 70)))
        if name in ("posting_id", "corrects", "first_posting_id", "last_posting_id"):
            return str(pick(range(1, 40)))
        if name in ("ingest_id",):
            return "1"
        return "1"
    if t in ("text", "cstring", "name"):
        if name == "source":
            return "erp" if role == "admin" else "wms"
        if name in ("source_event_id", "source_event_id_prefix", "feed_id"):
            return _next("HF")
        if name == "channel":
            return pick(["web", "market", "outlet"])
        if name in ("order_ref",):
            return _next("HO")
        if name in ("line_ref",):
            return "1"
        if name in ("bucket", "to_bucket"):
            return "released"
        if name == "from_bucket":
            return "qa_hold"
        if name == "kind":
            return "on_hand"
        if name == "absent":
            return "keep"
        if name == "scope":
            return "feed"
        if name == "on_error":
            return "skip"
        if name == "reason":
            return "shrink"
        if name == "unit":
            return None
        if name in ("slot_name",):
            return None
        if name in ("publication",):
            return "hostile_pub"
        if name == "value":
            return "2026-01-01 00:00:00+00"
        if name == "verb":
            return "cancel"
        if name == "cause":
            return "refresh"
        if t == "cstring" or name in ("", None):
            return "09506000134352"
        return "hostile"
    if t == "timestamp with time zone":
        if name in ("eta", "expires_at"):
            return "2030-01-01 00:00:00+00"
        return "2026-01-01 00:00:00+00" if name in ("as_of", "now_") else "2026-06-01 00:00:00+00"
    if t == "date":
        return "2026-12-24"
    if t == "interval":
        return "1 hour" if name == "time_window" else "7 days"
    if t == "boolean":
        return "true"
    if t == "regclass":
        return "public.hostile_feed"
    if t in ("jsonb", "json"):
        return "{}"
    if t == "pg_lsn":
        return "0/0"
    if typ in ENUMS:
        return ENUMS[typ][0]
    if typ in COMPOSITES:
        return None
    return None


def decoder_values(opt):
    """Values of one output plugin option: right and wrong."""
    common = [None, "", " ", ",", ",,", "a,,b", CONTROL, TEN_KB, "'", "\\", "%s", "\u2603"]
    return common + {
        "deterministic": ["true", "false", "on", "0", "yes", "maybe"],
        "envelopes": ["true", "false", "2"],
        "batch-events": ["1", "64", "0", "-1", "2147483648", "9" * 40, "1.5", "1e3", " 7 "],
        "channels": ["web", "web,market", "web, market ,outlet", "nosuch", "x" * 300],
        "sources": ["wms", "wms,pos", "nosuch"],
        "exclude-sources": ["wms", "pos,wms"],
        "locations": ["0614141000012", "0614141000012,0614141000029", "0614141000013", "614141000012",
                      "1" * 30, "abc", "0614141000012,"],
        "events": ["posting", "reservation", "atp", "posting,atp", "nosuch", "posting,posting"],
    }.get(opt, ["true"])
