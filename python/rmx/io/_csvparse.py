"""The csv reading of MXNet 1.9.1's ``CSVIter`` (dmlc-core's csv parser), in NumPy.

MXNet reads a csv file line by line (``\\n`` or ``\\r`` end a line; empty lines are no rows) and
each line field by field (fields end at ``,``). A field is read from its start by

* float32: dmlc's own ``strtof``, which is *not* correctly rounded: the digits before the point
  make a uint64 (wrapping), converted to float; the first 19 digits after it make
  ``float(double(frac) / double(10^k))``, added in float; an exponent (clipped to 38) scales by a
  float power of ten built from 1e8f and 10.0f factors; ``inf``/``infinity``/``nan`` are read;
* int32/int64: C's ``strtoll(p, &end, 0)`` (so ``0x1f`` is hex and ``017`` octal, and a value out
  of range saturates), cast to the dtype (int32 wraps).

Whatever follows the number up to the next ``,`` is ignored; a field where nothing could be read
(empty, or no number) gives no value at all, so its row is shorter (and CSVIter then fails on the
row length). Leading blanks are skipped (and count as read for floats: a blank field is 0).

``parse_csv_bytes`` does this with array operations over all the fields of a chunk of lines at
once; fields the fast path does not cover (inf/nan, octal/hex, more than 18 integer digits for the
integer parser) go through the scalar readers ``strtof_dmlc``/``strtoll_c``, which follow the C++
code step by step. (One corner is not reproduced: a field made only of blanks at the end of a line
makes MXNet's float reader skip the line break and read the next line's first number.)
"""

import numpy as np

_F32 = np.float32
_U64_MASK = (1 << 64) - 1
_INT64_MAX = (1 << 63) - 1


def _scale_table():
    """``scale`` of dmlc's strtof for exponents 0..38: 1e8f factors, then 10.0f factors, in float."""
    out = []
    for expon in range(39):
        scale = _F32(1.0)
        e = expon
        while e >= 8:
            scale = _F32(scale * _F32(1e8))
            e -= 8
        while e > 0:
            scale = _F32(scale * _F32(10.0))
            e -= 1
        out.append(scale)
    return np.array(out, dtype=np.float32)


_SCALE = _scale_table()
_MAX_SIG = _F32(3.402823466)      # the largest significand allowed with exponent 38
_MIN_SIG = _F32(1.175494351)      # the smallest significand allowed with exponent -38
_POW10_U64 = np.array([10 ** k for k in range(20)], dtype=np.uint64)


# --- scalar readers (the reference, and the slow path) ---------------------------------------------
def strtof_dmlc(s, i=0):
    """dmlc::strtof on ``s`` (bytes) from ``i``: ``(float32 value, end index)``; the end index is
    ``i`` when nothing was read."""
    n = len(s)
    p = i
    while p < n and s[p] in b" \t\r\n\f":
        p += 1
    positive = True
    if p < n and s[p] == 45:  # '-'
        positive = False
        p += 1
    elif p < n and s[p] == 43:  # '+'
        p += 1
    # inf / infinity / nan, any case
    k = 0
    while k < 8 and p + k < n and (s[p + k] | 32) == b"infinity"[k]:
        k += 1
    if k in (3, 8):
        v = _F32(np.inf)
        return (v if positive else -v), p + k
    k = 0
    while k < 3 and p + k < n and (s[p + k] | 32) == b"nan"[k]:
        k += 1
    if k == 3:
        p += 3
        if p < n and s[p] == 40:  # '(' char sequence ')'
            q = p + 1
            while q < n and (chr(s[q]).isalnum() or s[q] == 95):
                q += 1
            if q < n and s[q] == 41:
                p = q + 1
        return _F32(np.nan), p  # the sign is not applied to NaN
    predec = 0
    while p < n and 48 <= s[p] <= 57:
        predec = (predec * 10 + s[p] - 48) & _U64_MASK
        p += 1
    value = np.array(predec, dtype=np.uint64).astype(np.float32)[()]
    if p < n and s[p] == 46:  # '.'
        p += 1
        pow10 = 1
        val2 = 0
        cnt = 0
        while p < n and 48 <= s[p] <= 57:
            if cnt < 19:
                val2 = val2 * 10 + s[p] - 48
                pow10 *= 10
            p += 1
            cnt += 1
        frac = np.array(val2, dtype=np.uint64).astype(np.float64) / np.float64(pow10)
        value = _F32(value + _F32(frac))
    if p < n and s[p] in b"eE":
        p += 1
        negexp = False
        if p < n and s[p] == 45:
            negexp = True
            p += 1
        elif p < n and s[p] == 43:
            p += 1
        expon = 0
        while p < n and 48 <= s[p] <= 57:
            expon = (expon * 10 + s[p] - 48) & 0xFFFFFFFF
            p += 1
        expon = min(expon, 38)
        if expon == 38 and ((not negexp and value > _MAX_SIG) or (negexp and value < _MIN_SIG)):
            value = _MIN_SIG if negexp else _MAX_SIG
        scale = _SCALE[expon]
        with np.errstate(over="ignore", under="ignore"):
            value = _F32(value / scale) if negexp else _F32(value * scale)
    if p < n and s[p] in b"fF":
        p += 1
    return (value if positive else -value), p


def strtoll_c(s, i=0):
    """C's ``strtoll(s + i, &end, 0)``: ``(int value, end index)``; the end index is ``i`` when
    no digits were read. Out-of-range values saturate to the int64 limits."""
    n = len(s)
    p = i
    while p < n and s[p] in b" \t\n\v\f\r":
        p += 1
    negative = False
    if p < n and s[p] in b"+-":
        negative = s[p] == 45
        p += 1
    base = 10
    if p < n and s[p] == 48:  # '0'
        if p + 2 < n and s[p + 1] in b"xX" and chr(s[p + 2]) in "0123456789abcdefABCDEF":
            base = 16
            p += 2
        else:
            base = 8
    start = p
    acc = 0
    while p < n:
        c = chr(s[p]).lower()
        d = int(c, 36) if c.isalnum() else 99
        if d >= base:
            break
        acc = acc * base + d
        p += 1
    if p == start:
        return 0, i
    if negative:
        return max(-acc, -_INT64_MAX - 1), p
    return min(acc, _INT64_MAX), p


# --- the array path -----------------------------------------------------------------------------------
def _next_stop(stop):
    """For each byte position, the first position at or after it where ``stop`` holds (the last
    position must be a stop)."""
    pos = np.where(stop, np.arange(stop.shape[0], dtype=np.int64), stop.shape[0])
    return np.minimum.accumulate(pos[::-1])[::-1]


def _read_digits(buf, start, count, limit=None, dtype=np.uint64, wrap=None):
    """For each field, the number the ``count`` decimal digits from ``start`` make (only the
    first ``limit`` when given), accumulated as ``dtype`` (wrapping)."""
    val = np.zeros(start.shape, dtype=dtype)
    todo = count if limit is None else np.minimum(count, limit)
    ten = dtype(10)
    most = int(todo.max()) if todo.size else 0
    for t in range(most):
        if t < 24:  # whole arrays: cheaper than selecting while most fields are still active
            d = buf[np.minimum(start + t, buf.shape[0] - 1)].astype(dtype) - dtype(48)
            val = np.where(todo > t, val * ten + d, val)
        else:
            act = np.flatnonzero(todo > t)
            val[act] = val[act] * ten + (buf[start[act] + t].astype(dtype) - dtype(48))
    if wrap is not None:
        val &= dtype(wrap)
    return val, todo


def _parse_fields(buf, fstart, fend, kind):
    """Values of the fields ``buf[fstart:fend]`` (buf padded with two 0 bytes; separators are not
    digits): ``(values, read)`` with ``read`` false where nothing was read. Steps a chunk does
    not need (no blanks, signs, points or exponents in it) are skipped."""
    nf = fstart.shape[0]
    present = np.zeros(256, dtype=bool)
    present[np.unique(buf)] = True
    nondigit = _next_stop((buf - np.uint8(48)) > 9)
    blanks = b" \t\x0c" if kind == "f" else b" \t\x0b\x0c"
    if any(present[c] for c in blanks):
        ws = np.isin(buf, np.frombuffer(blanks, dtype=np.uint8))
        q1 = np.minimum(_next_stop(~ws)[fstart], fend)
    else:
        q1 = fstart
    if present[43] or present[45]:
        c1 = buf[q1]
        inside = q1 < fend
        has_sign = ((c1 == 43) | (c1 == 45)) & inside
        negative = (c1 == 45) & inside
        q2 = q1 + has_sign
    else:
        negative = None
        q2 = q1
    q3 = np.minimum(nondigit[q2], fend)
    n_int = q3 - q2
    slow = np.zeros(nf, dtype=bool)
    if kind == "f":
        if any(present[c] for c in b"iInN"):
            c2 = buf[q2] | 32
            slow |= ((c2 == ord("i")) | (c2 == ord("n"))) & (q2 < fend)
        predec, _ = _read_digits(buf, q2, n_int)
        value = predec.astype(np.float32)
        q5 = q3
        if present[46]:
            has_dot = (buf[q3] == 46) & (q3 < fend)
            q4 = q3 + has_dot
            q5 = np.where(has_dot, np.minimum(nondigit[q4], fend), q3)
            val2, kept = _read_digits(buf, q4, q5 - q4, limit=19)
            value += (val2.astype(np.float64) / _POW10_U64[kept].astype(np.float64)).astype(np.float32)
        q8 = q5
        if present[101] or present[69]:
            c5 = buf[q5]
            has_e = ((c5 == 101) | (c5 == 69)) & (q5 < fend)
            q6 = q5 + has_e
            c6 = buf[q6]
            e_sign = has_e & ((c6 == 43) | (c6 == 45)) & (q6 < fend)
            negexp = has_e & (c6 == 45) & (q6 < fend)
            q7 = q6 + e_sign
            q8 = np.where(has_e, np.minimum(nondigit[q7], fend), q5)
            expon, _ = _read_digits(buf, q7, q8 - q7, wrap=0xFFFFFFFF)
            expon = np.minimum(expon, 38).astype(np.int64)
            edge = has_e & (expon == 38)
            value = np.where(edge & ~negexp & (value > _MAX_SIG), _MAX_SIG, value)
            value = np.where(edge & negexp & (value < _MIN_SIG), _MIN_SIG, value)
            scale = _SCALE[expon]
            with np.errstate(over="ignore", under="ignore"):
                scaled = np.where(negexp, value / scale, value * scale)
            value = np.where(has_e, scaled, value).astype(np.float32)
        if present[102] or present[70]:
            c8 = buf[q8]
            q8 = q8 + (((c8 == 102) | (c8 == 70)) & (q8 < fend))
        read = q8 > fstart
        if negative is not None:
            value = np.where(negative, -value, value)
    else:
        d0 = buf[q2]
        # octal and hex spellings, and values that may not fit, take the scalar path
        slow |= (n_int > 18) | ((d0 == 48) & (n_int >= 1)
                                & ((n_int > 1) | ((buf[q2 + 1] | 32) == 120)))
        read = n_int > 0
        value, _ = _read_digits(buf, q2, np.where(slow, 0, n_int), dtype=np.int64)
        if negative is not None:
            value = np.where(negative, -value, value)
    idx = np.flatnonzero(slow)
    if idx.size:
        raw = buf.tobytes()
        reader = strtof_dmlc if kind == "f" else strtoll_c
        for k in idx.tolist():
            v, end = reader(raw[fstart[k]:fend[k]])
            value[k] = v
            read[k] = end > 0
    return value, read


def _chunks(data, size):
    """``data`` cut after a line break every ``size`` bytes or so."""
    start, n = 0, len(data)
    while start < n:
        end = min(start + size, n)
        if end < n:
            nl = max(data.rfind(b"\n", start, end), data.rfind(b"\r", start, end))
            if nl < start:
                nl = min(x for x in (data.find(b"\n", end), data.find(b"\r", end), n) if x >= 0)
            end = nl + 1
        yield data[start:end]
        start = end


def parse_csv_bytes(data, kind, chunk_bytes=1 << 22):
    """The rows of csv text ``data`` (bytes) as MXNet reads them: ``(values, row_lengths)``,
    ``values`` the values of all rows one after the other (float32 for kind ``'f'``, int64 as
    ``strtoll`` gives them for kind ``'i'``)."""
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    values, lengths = [], []
    for chunk in _chunks(data, chunk_bytes):
        buf = np.frombuffer(chunk + b"\x00\x00", dtype=np.uint8)
        n = len(chunk)
        is_nl = (buf[:n] == 10) | (buf[:n] == 13)
        seps = np.flatnonzero(is_nl | (buf[:n] == 44))
        fstart = np.concatenate([[0], seps + 1]).astype(np.int64)
        fend = np.concatenate([seps, [n]]).astype(np.int64)
        sep_is_nl = is_nl[seps]
        # the line of each field; a line is a row when it holds at least one byte (commas too)
        line = np.concatenate([[0], np.cumsum(sep_is_nl)]).astype(np.int64)
        field_bytes = (fend - fstart) + np.concatenate([~sep_is_nl, [False]])
        nlines = int(line[-1]) + 1
        is_row = np.bincount(line, weights=field_bytes, minlength=nlines) > 0
        value, read = _parse_fields(buf, fstart, fend, kind)
        lengths.append(np.bincount(line[read], minlength=nlines)[is_row])
        values.append(value[read])
    if not values:
        empty = np.zeros(0, dtype=np.float32 if kind == "f" else np.int64)
        return empty, np.zeros(0, dtype=np.int64)
    return np.concatenate(values), np.concatenate(lengths)
