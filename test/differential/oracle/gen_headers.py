#!/usr/bin/env python3
"""Generate dataset headers for the best-references differential test, from the real rules.

    gen_headers.py [--mappings DIR] [--seed N] [--scale F] [--contexts a.pmap,b.pmap] > headers.jsonl

Deterministic: a fixed seed and sorted iteration everywhere, so the same rules give the same
headers. Each output line is JSON:

    {"context": "hst_0729.pmap", "id": "...", "seed_rmap": "hst_acs_darkfile_0363.rmap",
     "variant": "cross+date:between", "header": {...}, "reftypes": [...]}   # reftypes optional

For every rmap of each context (default: the operational hst_0729 / jwst_0541 and the much
older hst_0300 / jwst_0200) we read, through the real library, its parkeys, its Match rows and
their UseAfter dates, and build headers around one row ("seed" rmap and row):

* values of the row's elements: plain values, a member of an or-list, a stand-in for `*`/ANY,
  something (or nothing) for N/A, a number inside / on the edges of BETWEEN and `#...#`
  ranges, values for NOT x, expansions of embedded globs, raw values that the rmap
  substitutes (GENERIC);
* mutations (`variant`): another row's value for one parameter (valid value, other
  combination), a value in no row, a missing key, lower-case values / keys / mixed-case keys,
  numeric variants (`2` / 2 / 2.0 / "2.00" / " 2.0 " / "+2.0" / "2e0"), dataset-side `*`,
  ANY, N/A;
* dates (`date:*`): before the first UseAfter date, exactly on one, a second before / after
  one, between two, after the last, alternative formats (T separator with empty time,
  fractional seconds, slashes, month names, HH:MM), and bad or missing dates. HST uses
  DATE-OBS/TIME-OBS, JWST META.OBSERVATION.DATE/TIME (the real rmaps' UseAfter parkeys; the
  generator reads them from each rmap rather than assuming);
* switches and expression keys (reffile_switch like DARKCORR, keys named in
  rmap_relevance / parkey_relevance / rmap_omit) take PERFORM/COMPLETE/OMIT/UNDEFINED or the
  literals of the expressions;
* the instrument key (INSTRUME / META.INSTRUMENT.NAME) is always set, except in a few
  dedicated headers per context that test a missing, unknown, lower-case or aliased one.

Requested types: about half the headers ask for the seed rmap's type only (sometimes spelled
upper-case), some ask for a few types of the instrument (with an unknown type now and then),
and the rest ask for all types (no `reftypes`): those headers are filled consistently from
rows of every rmap of the instrument, like a real dataset, so that most types find a file.

JWST headers only use data-model (`META.*`) keys: bare FITS keywords need the JWST data-model
schemas, see crds_env.py.
"""
import argparse
import datetime as dt
import fnmatch
import json
import re
import sys

import crds_env
from crds.core import rmap, utils

import random

MISSING = object()   # "leave this key out of the header"

HST_SWITCH_VALUES = ["PERFORM"] * 10 + ["COMPLETE"] * 2 + ["OMIT"] * 2 + ["UNDEFINED", "perform", "NONE"]

# --------------------------------------------------------------------------------------
# Reading the rules through the real library


def as_tuple(key):
    return key if isinstance(key, tuple) else (key,)


class RmapInfo:
    """What the generator needs to know about one rmap, read with the real library."""

    def __init__(self, name):
        r = rmap.get_cached_mapping(name)
        self.name = name
        self.obs = r.observatory.lower()
        self.instrument = r.instrument.lower()
        self.filekind = r.filekind.lower()
        self.required = list(r.get_required_parkeys())
        self.switch = None if r._reffile_switch in ("NONE", None) else r._reffile_switch.upper()
        self.extra = [k.upper() for k in r.extra_keys]
        classes = [c for c in r.header.get("classes", ("Match", "UseAfter"))]
        self.classes = classes
        parkey = [list(level) if isinstance(level, tuple) else [level] for level in r.parkey]
        self.match_params, self.date_params, self.version_params = [], [], []
        if classes[0] == "Match":
            self.match_params = [p.upper() for p in parkey[0]]
            if len(classes) > 1 and classes[1] == "UseAfter" and len(parkey) > 1:
                self.date_params = [p.upper() for p in parkey[1]]
        elif classes[0] == "VersionAfter":
            self.version_params = [p.upper() for p in parkey[0]]
        elif classes[0] == "UseAfter":
            self.date_params = [p.upper() for p in parkey[0]]
        # rows: (raw key tuple, sorted UseAfter [(date string, file)] or terminal value)
        self.rows, self.versions = [], []
        sel = r.selector
        if classes[0] == "Match":
            for key, choice in sel._raw_selections:
                if hasattr(choice, "_raw_selections"):
                    dates = sorted((str(d), str(f)) for d, f in choice._raw_selections)
                    self.rows.append((as_tuple(key), dates))
                else:
                    self.rows.append((as_tuple(key), choice))
        elif classes[0] == "VersionAfter":
            self.versions = sorted(str(k) for k, _ in sel._raw_selections)
        elif classes[0] == "UseAfter":
            self.rows.append(((), sorted((str(d), str(f)) for d, f in sel._raw_selections)))
        # rows whose terminals include N/A or OMIT: picked more often than their share
        self.special_rows = [i for i, (_, v) in enumerate(self.rows) if is_special_choice(v)]
        # per-parameter plain values seen in the rows (or-lists expanded, specials left out)
        self.columns = []
        for i, _p in enumerate(self.match_params):
            vals = set()
            for key, _ in self.rows:
                if i < len(key):
                    for v in expand_element(key[i]):
                        vals.add(v)
            self.columns.append(sorted(vals))
        # header substitutions (raw rmap value -> replacement); GENERIC is a default one
        subs = {"SUBARRAY": {"GENERIC": "N/A"}, "META.SUBARRAY.NAME": {"GENERIC": "N/A"}}
        for k, v in r.header.get("substitutions", {}).items():
            subs.setdefault(k.upper(), {}).update(v)
        self.substitutions = subs
        # names and string literals of the header expressions
        exprs = [r.header.get("rmap_relevance", ""), r.header.get("rmap_omit", "")]
        exprs += list(r.header.get("parkey_relevance", {}).values())
        self.expr_literals = {}
        for expr in exprs:
            expr = str(expr)
            lits = re.findall(r'"([^"]*)"|\'([^\']*)\'', expr)
            lits = sorted(set(a or b for a, b in lits))
            bare = re.sub(r'"[^"]*"|\'[^\']*\'', " ", expr)
            for name in sorted(set(re.findall(r"\b([A-Z][A-Z0-9_]*)\b", bare))):
                if name in ("True", "False"):
                    continue
                self.expr_literals.setdefault(name, set()).update(lits)
        self.expr_literals = {k: sorted(v) for k, v in self.expr_literals.items()}


def is_special_choice(choice):
    """True if a row's terminal (or one of its UseAfter terminals) is N/A or OMIT."""
    specials = ("N/A", "OMIT", "TEMP_N/A", "TEMP_OMIT")
    if isinstance(choice, list):
        return any(str(f).upper() in specials for _, f in choice)
    return str(choice).upper() in specials


def expand_element(elem):
    """Plain values an element admits (or-lists expanded; wildcard/N/A/esoteric skipped)."""
    if isinstance(elem, tuple):
        out = []
        for e in elem:
            out += expand_element(e)
        return out
    if isinstance(elem, bool):
        return [str(elem)]
    if isinstance(elem, (int, float)):
        return [str(elem)]
    s = str(elem)
    up = s.strip().upper()
    if up in ("N/A", "*", "ANY", "NOT APPLICABLE", "NOT_APPLICABLE") or up.startswith(("BETWEEN", "NOT ", "#")):
        return []
    if s.startswith(("{", "(")):
        return []
    if "|" in s:
        out = []
        for part in s.split("|"):
            out += expand_element(part.strip()) if part.strip() else []
        return out
    if any(c in s for c in "*?["):
        return []
    return [s.strip()]


class Context:
    def __init__(self, name):
        self.name = name
        p = rmap.get_cached_mapping(name)
        self.obs = p.observatory.lower()
        self.instrument_key = p.parkey[0].upper()
        self.instruments = {}    # instrument -> {filekind: RmapInfo | "N/A" | "OMIT"}
        for instr in sorted(p.selections.keys()):
            imap = p.selections[instr]
            kinds = {}
            for kind in sorted(imap.selections.keys()):
                value = imap.selections[kind]
                if isinstance(value, str):
                    kinds[kind.lower()] = value.upper()
                else:
                    kinds[kind.lower()] = RmapInfo(value.basename)
            self.instruments[instr.lower()] = kinds

    def rmaps(self):
        for instr in sorted(self.instruments):
            for kind, info in sorted(self.instruments[instr].items()):
                if isinstance(info, RmapInfo):
                    yield instr, kind, info


# --------------------------------------------------------------------------------------
# Values


def is_number(s):
    return re.match(r"^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$|^[+-]?[0-9]+\.$", str(s).strip()) is not None


def numeric_variant(rng, s):
    """Another spelling (or JSON number) of numeric string `s`, equal after conditioning."""
    f = float(str(s).strip())
    if f != f or f in (float("inf"), float("-inf")):
        return s   # "1e400": keep the overflowing spelling itself
    choices = [str(s), repr(f), f, " %s " % s, "%s0" % repr(f)]
    if f == int(f) and abs(f) < 1e9:
        choices += [str(int(f)), int(f), "%d." % int(f)]
    if f >= 0:
        choices.append("+" + repr(f))
    if f != 0 and abs(f) < 1e6:
        m = "%e" % f   # 1.062000e+03
        choices.append(m)
        choices.append("%G" % f)   # 1062 / 1.5E-05
    if f == 0:
        choices += [-0.0, "-0", "-0.0", "0e0"]
    if 0 < abs(f) < 1:
        choices.append(repr(f).replace("0.", ".", 1))
    return rng.choice(choices)


TOKENS = ["FOO", "BOGUS", "XYZ123", "UNKNOWN", "12345.0", "-7", "0", "", "UNDEFINED", "NONE", "?",
          # numbers that test conditioning: overflow to inf, negative zero, no leading digit,
          # not-a-number words, forms Python's float() takes but the CRDS number regex does not
          "1e400", "-0", "-0.0", ".5", "5.", "NaN", "inf", "1_000", "0x10", "1E5", "+.5e-3", "12345678901234567890"]


def value_in_no_row(rng, col):
    for _ in range(20):
        v = rng.choice(TOKENS)
        if v not in col:
            return v
    return "NO-SUCH-VALUE"


def glob_instance(rng, pattern):
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(rng.choice(["", "X", "ABC", "_1"]))
        elif c == "?":
            out.append(rng.choice(["A", "1"]))
        elif c == "[":
            j = pattern.find("]", i)
            body = pattern[i + 1:j] if j > i else "A"
            body = body.lstrip("!")
            out.append(body[0] if body else "A")
            i = j if j > i else i
        else:
            out.append(c)
        i += 1
    return "".join(out)


def range_value(rng, lo, hi, lo_incl=True, hi_incl=False):
    picks = [lo, hi, (lo + hi) / 2.0, lo - 1, hi + 1, lo + 0.5]
    v = rng.choice(picks)
    if v == int(v) and rng.random() < 0.5:
        return str(int(v))
    return repr(float(v))


def element_value(rng, elem, col):
    """A dataset value that exercises row element `elem` of a column with values `col`."""
    if isinstance(elem, tuple):
        return element_value(rng, rng.choice(elem), col) if elem else ""
    if isinstance(elem, bool):
        return str(elem)
    if isinstance(elem, int):
        return elem if rng.random() < 0.3 else str(elem)
    if isinstance(elem, float):
        return elem if rng.random() < 0.3 else repr(elem)
    s = str(elem)
    up = s.strip().upper()
    if up in ("N/A", "NOT APPLICABLE", "NOT_APPLICABLE"):
        r = rng.random()
        if r < 0.5 and col:
            return rng.choice(col)
        if r < 0.7:
            return value_in_no_row(rng, col)
        if r < 0.9:
            return MISSING
        return "N/A"
    if up in ("*", "ANY"):
        r = rng.random()
        if r < 0.5 and col:
            return rng.choice(col)
        if r < 0.8:
            return rng.choice(["XYZ123", "WHATEVER", "1.5", "0"])
        return rng.choice(["ANY", "*"])
    m = re.match(r"^between\s+(\S+)\s+(\S+)$", s.strip(), re.I)
    if m and is_number(m.group(1)) and is_number(m.group(2)):
        return range_value(rng, float(m.group(1)), float(m.group(2)))
    if s.strip().startswith("#"):
        nums = [float(x) for x in re.findall(r"[-+]?[0-9]*\.?[0-9]+", s)]
        if nums:
            base = rng.choice(nums)
            return repr(base + rng.choice([0, 1, -1, 0.5, 100, -100]))
        return "0"
    if up.startswith("NOT "):
        inner = s.strip()[4:].strip()
        others = [c for c in col if c.upper() != inner.upper()]
        if others and rng.random() < 0.7:
            return rng.choice(others)
        return element_value(rng, inner, col)
    if "|" in s:
        parts = [p.strip() for p in s.split("|") if p.strip()]
        if not parts:
            return ""
        if rng.random() < 0.03:
            return s            # the whole or-list as a dataset value
        return element_value(rng, rng.choice(parts), col)
    if any(c in s for c in "*?["):
        return glob_instance(rng, s.strip())
    return s


def mutate_value(rng, value, kind, col):
    if value is MISSING:
        return value
    if kind == "lower" and isinstance(value, str):
        return value.lower()
    if kind == "numeric" and is_number(value):
        return numeric_variant(rng, value)
    return value


def element_admits(elem, value):
    """Approximate: may dataset `value` match row element `elem`? (only for consistent fill)"""
    if value is MISSING:
        return True
    if isinstance(elem, tuple):
        return any(element_admits(e, value) for e in elem)
    v = utils.condition_value(value)
    if isinstance(elem, (int, float)) and not isinstance(elem, bool):
        return utils.condition_value(elem) == v
    s = str(elem).strip()
    up = s.upper()
    if up in ("N/A", "*", "ANY") or up.startswith(("BETWEEN", "NOT ", "#")):
        return True
    if "|" in s:
        return any(element_admits(p.strip(), value) for p in s.split("|") if p.strip())
    if any(c in s for c in "*?["):
        return fnmatch.fnmatchcase(v, utils.condition_value(s))
    return utils.condition_value(s) == v


# --------------------------------------------------------------------------------------
# Dates

UA_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
              "%Y-%m-%d"]


def parse_ua(s):
    for fmt in UA_FORMATS:
        try:
            return dt.datetime.strptime(s.strip(), fmt)
        except ValueError:
            pass
    return None


def choose_datetime(rng, dates):
    """(label, datetime) relative to the UseAfter dates of the seed row."""
    parsed = sorted(d for d in (parse_ua(s) for s, _ in dates) if d is not None)
    if not parsed:
        base = dt.datetime(1990, 1, 1) + dt.timedelta(days=rng.randrange(0, 13000), seconds=rng.randrange(86400))
        return "free", base
    r = rng.random()
    if r < 0.25:
        return "on", rng.choice(parsed)
    if r < 0.33:
        return "edge", rng.choice(parsed) + dt.timedelta(seconds=rng.choice([-1, 1]))
    if r < 0.63:
        i = rng.randrange(len(parsed))
        lo = parsed[i]
        hi = parsed[i + 1] if i + 1 < len(parsed) else lo + dt.timedelta(days=rng.randrange(1, 3000))
        span = max(int((hi - lo).total_seconds()), 2)
        return "between", lo + dt.timedelta(seconds=rng.randrange(1, span))
    if r < 0.82:
        return "after", parsed[-1] + dt.timedelta(days=rng.randrange(1, 4000), seconds=rng.randrange(86400))
    return "before", max(parsed[0] - dt.timedelta(days=rng.randrange(1, 4000), seconds=rng.randrange(86400)),
                         dt.datetime(1970, 1, 1))


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def format_date(rng, when, style):
    """(date value, time value) of one of the date spellings; MISSING leaves a key out."""
    d, t = when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S")
    if style == "plain":
        return d, t
    if style == "frac":
        return d, t + ".%06d" % rng.randrange(1, 1000000)
    if style == "T-empty":
        return d + "T" + t, ""
    if style == "T-missing":
        return d + "T" + t, MISSING
    if style == "T-and-time":
        return d + "T" + t, t
    if style == "slashes":
        return when.strftime("%Y/%m/%d"), t
    if style == "us":
        return when.strftime("%m/%d/%Y"), t
    if style == "month":
        return "%s %02d %d" % (MONTHS[when.month - 1], when.day, when.year), t
    if style == "hhmm":
        return d, when.strftime("%H:%M")
    if style == "no-time":
        return d, MISSING
    if style == "no-date":
        return MISSING, t
    if style == "undefined":
        return "UNDEFINED", t
    if style == "bad-month":
        return "%d-13-01" % when.year, t
    if style == "bad-day":
        return "%d-02-30" % when.year, t
    if style == "garbage":
        return rng.choice(["garbage", "2011-1-1", "20110101", ""]), t
    raise ValueError(style)


DATE_STYLES = (["plain"] * 70 + ["frac"] * 8 + ["T-empty", "T-missing", "T-and-time", "slashes", "us", "month",
               "hhmm", "no-time", "no-date", "undefined", "bad-month", "bad-day", "garbage"] * 2)


# --------------------------------------------------------------------------------------
# Headers

VARIANTS = (["exact"] * 36 + ["cross"] * 12 + ["novalue"] * 8 + ["missing"] * 7 + ["lower"] * 6 + ["numeric"] * 9 +
            ["wild"] * 4 + ["keycase"] * 4 + ["subst"] * 3 + ["dupkey"] * 2)


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def row_values(self, info, row_index):
        key, _ = info.rows[row_index]
        values = {}
        for i, p in enumerate(info.match_params):
            elem = key[i] if i < len(key) else "N/A"
            values[p] = element_value(self.rng, elem, info.columns[i])
        return values

    def pick_row(self, info):
        if not info.rows:
            return None
        if info.special_rows and self.rng.random() < 0.15:
            return self.rng.choice(info.special_rows)
        return self.rng.randrange(len(info.rows))

    def fill_from(self, info, values):
        """Fill keys of `info` not set yet, from a row compatible with the values set so far."""
        if info.rows:
            n = len(info.rows)
            start = self.rng.randrange(n)
            chosen = None
            for j in range(min(n, 200)):
                key, _ = info.rows[(start + j) % n]
                if all(element_admits(key[i], values[p]) for i, p in enumerate(info.match_params)
                       if p in values and i < len(key)):
                    chosen = (start + j) % n
                    break
            if chosen is None:
                chosen = start
            for p, v in self.row_values(info, chosen).items():
                values.setdefault(p, v)
        self.fill_switches(info, values)

    def fill_switches(self, info, values):
        rng = self.rng
        if info.switch and info.switch not in values:
            values[info.switch] = MISSING if rng.random() < 0.03 else rng.choice(HST_SWITCH_VALUES)
        for name, lits in info.expr_literals.items():
            if name in values or name.startswith("META_"):
                continue
            if name.endswith("CORR"):
                values[name] = rng.choice(HST_SWITCH_VALUES)
            elif lits and rng.random() < 0.8:
                values[name] = rng.choice(lits)
            else:
                values[name] = rng.choice(["UNDEFINED", "NONE", "OTHER"])
        for p in info.version_params:
            if p not in values:
                vs = info.versions or ["1.0.0"]
                v = rng.choice(vs)
                parts = [int(x) if x.isdigit() else 0 for x in re.split(r"[.]", v)[:3]]
                while len(parts) < 3:
                    parts.append(0)
                values[p] = rng.choice([
                    v, "%d.%d.%d" % (parts[0], parts[1], parts[2] + 1), "%d.%d" % (parts[0], max(parts[1] - 1, 0)),
                    "%d.%d.%d" % (parts[0] + 1, 0, 0), "0.0.1", "abc", "", MISSING, "1.2.3rc1"])
        for p in info.required:
            if p.upper() not in values and p.upper() not in info.date_params and rng.random() < 0.5:
                # extra keys (hook inputs, package extra keys) not in any Match tuple
                values[p.upper()] = rng.choice(["0.0", "1.0", "N/A", "UNDEFINED", "T", "F"])

    def mutate(self, info, values, variant, ctx):
        rng = self.rng
        params = [p for p in info.match_params if p in values]
        if not params:
            return variant if variant in ("exact", "keycase", "lower") else "exact"
        p = rng.choice(params)
        col = info.columns[info.match_params.index(p)]
        if variant == "cross":
            others = [c for c in col if values[p] is MISSING or c != str(values[p])]
            if not others:
                return "exact"
            values[p] = rng.choice(others)
        elif variant == "novalue":
            values[p] = value_in_no_row(rng, col)
        elif variant == "missing":
            if info.switch and rng.random() < 0.2:
                values[info.switch] = MISSING
            else:
                values[p] = MISSING
        elif variant == "lower":
            for q in params:
                if rng.random() < 0.6:
                    values[q] = mutate_value(rng, values[q], "lower", col)
        elif variant == "numeric":
            numeric = [q for q in values if values[q] is not MISSING and is_number(values[q])]
            if not numeric:
                return "exact"
            for q in numeric:
                values[q] = numeric_variant(rng, values[q])
        elif variant == "wild":
            values[p] = rng.choice(["*", "ANY", "N/A", "n/a", "not applicable"])
        elif variant == "subst":
            subs = info.substitutions.get(p)
            if not subs:
                return "exact"
            values[p] = rng.choice(sorted(subs))
        return variant

    def header(self, ctx, instr, info, mode):
        rng = self.rng
        values = {}
        row = self.pick_row(info)
        if row is not None:
            values.update(self.row_values(info, row))
        self.fill_switches(info, values)
        variant = rng.choice(VARIANTS)
        variant = self.mutate(info, values, variant, ctx)
        if mode == "all":
            kinds = ctx.instruments[instr]
            for kind in sorted(kinds):
                other = kinds[kind]
                if isinstance(other, RmapInfo) and other is not info:
                    self.fill_from(other, values)
        # date
        date_label = None
        dparams = info.date_params
        if not dparams and mode == "all":
            dparams = next((o.date_params for o in ctx.instruments[instr].values()
                            if isinstance(o, RmapInfo) and o.date_params), [])
        if dparams:
            dates = info.rows[row][1] if (row is not None and info.date_params) else []
            label, when = choose_datetime(rng, dates if isinstance(dates, list) else [])
            style = rng.choice(DATE_STYLES)
            dval, tval = format_date(rng, when, style)
            date_label = label if style == "plain" else label + "/" + style
            values[dparams[0]] = dval
            if len(dparams) > 1:
                values[dparams[1]] = tval
        # instrument
        instr_value = instr.upper()
        if rng.random() < 0.04:
            instr_value = instr.lower()
        hdr = {}
        hdr[ctx.instrument_key] = instr_value
        for k in sorted(values):
            if values[k] is not MISSING:
                hdr[k] = values[k]
        # the same key twice, upper- and lower-case, with different values (JSON keeps both;
        # which one wins depends on the order the header is read in)
        if variant == "dupkey":
            ks = sorted(k for k in hdr if k != ctx.instrument_key)
            if ks:
                k = rng.choice(ks)
                other = value_in_no_row(rng, []) if rng.random() < 0.5 else str(hdr[k]).lower() + "X"
                if rng.random() < 0.5:
                    hdr[k.lower()] = other
                else:
                    v = hdr.pop(k)
                    hdr[k.lower()] = other
                    hdr[k] = v
        # keys spelled differently
        if variant == "keycase":
            r = rng.random()
            if r < 0.5:
                hdr = {k.lower(): v for k, v in hdr.items()}
                variant = "keycase:lower"
            else:
                ks = [k for k in hdr if k != ctx.instrument_key]
                if ks:
                    k = rng.choice(ks)
                    hdr[k.capitalize()] = hdr.pop(k)
                variant = "keycase:mixed"
        # unrelated keys, as in a real header
        if rng.random() < 0.3:
            if ctx.obs == "hst":
                hdr.update({"FILENAME": "x%05d_raw.fits" % rng.randrange(99999), "EXPTIME": 1234.5})
            else:
                hdr.update({"META.FILENAME": "jw%05d_uncal.fits" % rng.randrange(99999),
                            "META.EXPOSURE.EXPOSURE_TIME": 10.737})
        return hdr, variant + ("+date:" + date_label if date_label else "")

    def reftypes(self, ctx, instr, info, mode):
        rng = self.rng
        if mode == "single":
            kind = info.filekind
            return [kind.upper() if rng.random() < 0.1 else kind]
        if mode == "few":
            kinds = sorted(ctx.instruments[instr])
            picked = [info.filekind] + rng.sample(kinds, min(len(kinds), rng.randint(1, 3)))
            if rng.random() < 0.15:
                picked.append(rng.choice(["foo", "notatype", "darkfile", "flat"]))
            rng.shuffle(picked)
            return list(dict.fromkeys(picked))
        return None


def special_headers(ctx, gen):
    """A few whole-call cases per context: instrument missing, unknown, aliased, empty types."""
    rng = gen.rng
    out = []
    first_instr = sorted(ctx.instruments)[0]
    ik = ctx.instrument_key
    date_keys = ["DATE-OBS", "TIME-OBS"] if ctx.obs == "hst" else ["META.OBSERVATION.DATE", "META.OBSERVATION.TIME"]
    base = {date_keys[0]: "2015-06-01", date_keys[1]: "00:00:00"}
    out.append(("no-instrument", dict(base), None))
    out.append(("unknown-instrument", dict(base, **{ik: "FOO"}), None))
    out.append(("undefined-instrument", dict(base, **{ik: "UNDEFINED"}), None))
    out.append(("empty-reftypes", dict(base, **{ik: first_instr.upper()}), []))
    out.append(("unknown-reftype", dict(base, **{ik: first_instr.upper()}), ["foo", "FOO"]))
    for instr in sorted(ctx.instruments):
        out.append(("lower-instrument-key-" + instr, dict(base, **{ik.lower(): instr}), None))
        out.append(("instrument-" + instr, dict(base, **{ik: instr.upper()}), None))
    if ctx.obs == "hst":
        out.append(("wfii", dict(base, INSTRUME="WFII"), None))
        out.append(("alias-instrument-key", dict(base, **{"META.INSTRUMENT.NAME": "ACS"}), None))
        out.append(("mixed-instrument-key", dict(base, Instrume="ACS"), None))
    else:
        out.append(("mixed-instrument-key", dict(base, **{"Meta.Instrument.Name": "MIRI"}), None))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mappings", help="real mappings dir (see crds_env.py)")
    ap.add_argument("--seed", type=int, default=20240729)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the headers per rmap")
    ap.add_argument("--contexts", default=",".join(crds_env.CONTEXTS))
    args = ap.parse_args()
    per_rmap = {"hst_0729.pmap": 36, "jwst_0541.pmap": 30, "jwst_na_omit.pmap": 60}
    gen = Generator(args.seed)
    ids = set()

    def emit(rec, reftypes):
        """Writes one header record (ids unique across the run)."""
        if reftypes is not None:
            rec["reftypes"] = reftypes
        assert rec["id"] not in ids, rec["id"]
        ids.add(rec["id"])
        sys.stdout.write(json.dumps(rec) + "\n")

    for cname in args.contexts.split(","):
        ctx = Context(cname)
        count = max(1, int(round(per_rmap.get(cname, 18) * args.scale)))
        for label, hdr, reftypes in special_headers(ctx, gen):
            emit({"context": cname, "id": "%s:special:%s" % (cname, label), "seed_rmap": None,
                  "variant": "special:" + label, "header": hdr}, reftypes)
        for instr, kind, info in ctx.rmaps():
            for i in range(count):
                r = gen.rng.random()
                mode = "single" if r < 0.45 else ("few" if r < 0.6 else "all")
                hdr, variant = gen.header(ctx, instr, info, mode)
                rec = {"context": cname, "id": "%s:%s:%d" % (cname, info.name, i), "seed_rmap": info.name,
                       "variant": mode + ":" + variant, "header": hdr}
                emit(rec, gen.reftypes(ctx, instr, info, mode))
    print("gen_headers: %d headers from %s (stdatamodels stubbed: %s)" %
          (len(ids), args.contexts, crds_env.STDATAMODELS_STUBBED), file=sys.stderr)


if __name__ == "__main__":
    main()
