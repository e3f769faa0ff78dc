# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title judge
@custom:contract-name judge
@license Apache-2.0
@notice Runs a `datasoil-judge-v1` program (docs/formats/judge.md) on one input row of a
        cleaning: the recipe's steps, in order, with the engine's semantics, until one
        drops the row or the program ends. The outcome is what the row's fate record
        must say: kept (with the output row, re-encoded), dropped by a step (for
        `dedupe`, as a duplicate of the earlier row opened with it), failed (a strict
        cast: the cleaning could not have succeeded), a duplicate the earlier row does
        not confirm, or invalid (the row or the program does not decode, or the program
        does not fit the row).
        `dedupe` is judged against one earlier row `j` run alongside the disputed row:
        at a dedupe step the disputed row is a duplicate of `j` when `j` reached the
        step alive (its run, and its fate record saying it was not dropped before) and
        their keys are equal, nulls equal.
@dev A pure module: no storage, no initialisation. `_judge` takes one buffer holding the
     disputed row, the earlier row (or nothing), the program and rows.PAD zero bytes,
     in that order; every read is checked against the lengths given. Single bytes are
     read inline, `convert(extract32(buf, p), uint256) >> 248` (the padding keeps the
     32-byte read inside the buffer): an internal call would copy the whole buffer.
"""

from . import rows

# @dev The most steps a recipe has (a fate record names a step in one byte, 0xff none).
MAX_STEPS: constant(uint256) = 254

# @dev The most values a filter expression holds at once.
MAX_STACK: constant(uint256) = 32

# @dev The "none" of a fate record's step and row fields.
NO_STEP: constant(uint256) = 255
NO_ROW: constant(uint256) = 18446744073709551615

# @dev Outcomes.
KEPT: constant(uint256) = 1
DROPPED: constant(uint256) = 2
FAILED: constant(uint256) = 3
WRONG_DUPLICATE: constant(uint256) = 4
INVALID: constant(uint256) = 5

# @dev A step's effect on one row (`_step`): ALIVE or one of the outcomes above.
_ALIVE: constant(uint256) = 0

# @dev The program format version (its first byte).
_VERSION: constant(uint256) = 1

# @dev Instructions.
_OP_NOP: constant(uint256) = 0
_OP_SELECT: constant(uint256) = 1
_OP_CAST: constant(uint256) = 2
_OP_TRIM: constant(uint256) = 3
_OP_CASE: constant(uint256) = 4
_OP_DROP_NULLS: constant(uint256) = 5
_OP_FILL: constant(uint256) = 6
_OP_FILTER: constant(uint256) = 7
_OP_OUTLIERS: constant(uint256) = 8
_OP_DEDUPE: constant(uint256) = 9
_OP_DROP_ROWS: constant(uint256) = 10

# @dev normalise's mode byte: the ASCII case (bits 0-1: rows.LOWER, rows.UPPER or none)
# and whether whitespace is collapsed (bit 2).
_CASE_BITS: constant(uint256) = 3
_COLLAPSE: constant(uint256) = 4

# @dev drop_rows: "no column" as its position; the most row indices it lists.
_NO_COLUMN: constant(uint256) = 255
_MAX_DROPPED_ROWS: constant(uint256) = rows.MAX_PROGRAM_BYTES // 8

# @dev Cast policies and conversions.
_STRICT: constant(uint256) = 0
_TO_NULL: constant(uint256) = 1
_TO_DROP: constant(uint256) = 2
_INT_TO_STRING: constant(uint256) = 1
_INT_TO_BOOL: constant(uint256) = 2
_STRING_TO_INT: constant(uint256) = 3
_STRING_TO_BOOL: constant(uint256) = 4
_BOOL_TO_INT: constant(uint256) = 5
_BOOL_TO_STRING: constant(uint256) = 6

# @dev Outlier actions.
_CLIP: constant(uint256) = 0

# @dev Filter code.
_X_COL: constant(uint256) = 1
_X_LIT: constant(uint256) = 2
_X_IS_NULL: constant(uint256) = 3
_X_NOT: constant(uint256) = 4
_X_AND: constant(uint256) = 5
_X_OR: constant(uint256) = 6
_X_EQ: constant(uint256) = 8
_X_NE: constant(uint256) = 9
_X_LT: constant(uint256) = 10
_X_LE: constant(uint256) = 11
_X_GT: constant(uint256) = 12
_X_GE: constant(uint256) = 13

# @dev Truth values of three-valued logic.
_FALSE: constant(uint256) = 0
_TRUE: constant(uint256) = 1
_UNKNOWN: constant(uint256) = 2

# @dev ASCII bytes string -> int64 reads.
_PLUS: constant(uint256) = 43
_MINUS: constant(uint256) = 45
_ZERO: constant(uint256) = 48
_NINE: constant(uint256) = 57

# @dev "true" (0x74727565) and "false" (0x66616c7365), right-aligned.
_TRUE_TEXT: constant(uint256) = 1953658213
_FALSE_TEXT: constant(uint256) = 439721161573

# @dev The UTF-8 of the 25 White_Space code points. One byte: U+0009..U+000D and U+0020.
_TAB: constant(uint256) = 9
_CARRIAGE_RETURN: constant(uint256) = 13
_SPACE: constant(uint256) = 32
# Two bytes, lead 0xC2: U+0085 (C2 85) and U+00A0 (C2 A0).
_LEAD_C2: constant(uint256) = 194
_NEXT_LINE: constant(uint256) = 133
_NO_BREAK_SPACE: constant(uint256) = 160
# Three bytes: U+1680 (E1 9A 80), U+205F (E2 81 9F), U+3000 (E3 80 80), and E2 80 xx for
# xx in 80..8A (U+2000..U+200A), A8 and A9 (U+2028, U+2029), AF (U+202F).
_OGHAM_SPACE: constant(uint256) = 14785152
_MATH_SPACE: constant(uint256) = 14844319
_IDEOGRAPHIC_SPACE: constant(uint256) = 14909568
_LEAD_E2_80: constant(uint256) = 57984
_EN_QUAD: constant(uint256) = 128
_HAIR_SPACE: constant(uint256) = 138
_LINE_SEPARATOR: constant(uint256) = 168
_PARAGRAPH_SEPARATOR: constant(uint256) = 169
_NARROW_NO_BREAK_SPACE: constant(uint256) = 175


@internal
@pure
def _judge(
    buf: Bytes[rows.BUFFER_BYTES],
    i_length: uint256,
    j_length: uint256,
    program_length: uint256,
    i_index: uint256,
    i_step: uint256,
    i_dup: uint256,
    j_index: uint256,
    j_step: uint256,
) -> (uint256, uint256, uint256, Bytes[rows.ENCODED_BYTES]):
    """
    @dev Judges the disputed row `buf[0:i_length]` with the program after the earlier row
         `buf[i_length:i_length + j_length]` (none when `j_length` is 0).
    @param buf The rows, the program and rows.PAD zero bytes.
    @param i_length The disputed row's length.
    @param j_length The earlier row's length, or 0.
    @param program_length The program's length.
    @param i_index The disputed row's input index (drop_rows names rows by it).
    @param i_step The step the disputed row's fate record says dropped it (NO_STEP: kept).
    @param i_dup The row its fate record says it duplicates (NO_ROW: none).
    @param j_index The earlier row's index (NO_ROW when there is none).
    @param j_step The step the earlier row's fate record says dropped it (NO_STEP: kept).
    @return uint256 The outcome.
    @return uint256 The dropping, failing or unconfirmed step (NO_STEP otherwise).
    @return uint256 The earlier row a dedupe drop duplicates (NO_ROW otherwise).
    @return Bytes The output row when kept.
    """
    ok: bool = False
    xs: DynArray[rows.Value, rows.MAX_COLUMNS] = []
    ys: DynArray[rows.Value, rows.MAX_COLUMNS] = []
    ok, xs = rows._decode(buf, 0, i_length)
    if not ok:
        return INVALID, NO_STEP, NO_ROW, b""
    y_alive: bool = j_length != 0
    if y_alive:
        ok, ys = rows._decode(buf, i_length, j_length)
        if not ok or len(ys) != len(xs):
            return INVALID, NO_STEP, NO_ROW, b""
    pc: uint256 = i_length + j_length
    end: uint256 = pc + program_length
    # Where texts the judge writes go: after the program (then the padding).
    content: uint256 = end
    if program_length < 3 or (convert(extract32(buf, pc), uint256) >> 248) != _VERSION or (convert(extract32(buf, pc + 1), uint256) >> 248) != len(xs):
        return INVALID, NO_STEP, NO_ROW, b""
    steps: uint256 = (convert(extract32(buf, pc + 2), uint256) >> 248)
    pc += 3
    for s: uint256 in range(MAX_STEPS):
        if s == steps:
            break
        if pc >= end:
            return INVALID, s, NO_ROW, b""
        if (convert(extract32(buf, pc), uint256) >> 248) == _OP_DEDUPE:
            keys: DynArray[uint256, rows.MAX_COLUMNS] = []
            ok, keys, pc = self._positions(buf, pc + 1, end, len(xs))
            if not ok:
                return INVALID, s, NO_ROW, b""
            # The earlier row reached this step alive: by its run, and by its fate record.
            reached: bool = y_alive and (j_step == NO_STEP or j_step >= s)
            same: bool = reached and self._same_key(buf, xs, ys, keys)
            if j_length != 0 and i_step == s and i_dup == j_index:
                if same and j_step != s:
                    return DROPPED, s, j_index, b""
                return WRONG_DUPLICATE, s, j_index, b""
            if same:
                return DROPPED, s, j_index, b""
            if j_step == s:
                y_alive = False
            continue
        state: uint256 = 0
        next_pc: uint256 = 0
        if (convert(extract32(buf, pc), uint256) >> 248) == _OP_DROP_ROWS:
            # By input index, which _step does not know: both rows here.
            state, next_pc = self._drop_rows(buf, xs, i_index, pc, end)
            if state != _ALIVE:
                return state, s, NO_ROW, b""
            if y_alive:
                state, next_pc = self._drop_rows(buf, ys, j_index, pc, end)
                y_alive = state == _ALIVE
            pc = next_pc
            continue
        state, xs, next_pc = self._step(buf, xs, pc, end)
        if state != _ALIVE:
            return state, s, NO_ROW, b""
        if y_alive:
            ignored: uint256 = 0
            state, ys, ignored = self._step(buf, ys, pc, end)
            y_alive = state == _ALIVE
        if (convert(extract32(buf, pc), uint256) >> 248) == _OP_CASE and (convert(extract32(buf, pc + 1), uint256) >> 248) & _COLLAPSE != 0:
            # Collapsing writes text: into the buffer, after what it holds.
            at: DynArray[uint256, rows.MAX_COLUMNS] = []
            after: uint256 = 0
            ok, at, after = self._positions(buf, pc + 2, end, len(xs))
            for k: uint256 in at:
                buf, content, xs[k] = self._collapse(buf, content, xs[k])
                if y_alive:
                    buf, content, ys[k] = self._collapse(buf, content, ys[k])
        pc = next_pc
    if pc != end:
        return INVALID, NO_STEP, NO_ROW, b""
    out: Bytes[rows.ENCODED_BYTES] = b""
    ok, out = rows._encode(buf, xs)
    if not ok:
        return INVALID, NO_STEP, NO_ROW, b""
    return KEPT, NO_STEP, NO_ROW, out


@internal
@pure
def _positions(
    buf: Bytes[rows.BUFFER_BYTES], pc: uint256, end: uint256, width: uint256
) -> (bool, DynArray[uint256, rows.MAX_COLUMNS], uint256):
    """
    @dev Reads a count byte and that many column positions, each below `width`.
    @param buf The buffer.
    @param pc The count's offset.
    @param end The program's end.
    @param width The row's width at this step.
    @return bool Whether they are inside the program and the row.
    @return DynArray The positions.
    @return uint256 The offset after them.
    """
    result: DynArray[uint256, rows.MAX_COLUMNS] = []
    if pc >= end:
        return False, [], 0
    count: uint256 = (convert(extract32(buf, pc), uint256) >> 248)
    if count > rows.MAX_COLUMNS or pc + 1 + count > end:
        return False, [], 0
    for k: uint256 in range(rows.MAX_COLUMNS):
        if k == count:
            break
        p: uint256 = (convert(extract32(buf, pc + 1 + k), uint256) >> 248)
        if p >= width:
            return False, [], 0
        result.append(p)
    return True, result, pc + 1 + count


@internal
@pure
def _collapse(
    buf: Bytes[rows.BUFFER_BYTES], content: uint256, v: rows.Value
) -> (Bytes[rows.BUFFER_BYTES], uint256, rows.Value):
    """
    @dev normalise's whitespace collapse of one value, as the engine does it: every run of
         White_Space code points becomes one space, and spaces at the ends go. A text that
         it changes is written at `content` in the buffer (before its padding); null, a
         text it leaves as it is and texts the judge made (digits, true/false) stay. The
         bytes are copied as stored and the value keeps its case mapping: ASCII case and
         White_Space never touch the same bytes.
    @param buf The buffer.
    @param content The end of what the buffer holds (its padding follows).
    @param v The value (null or a text: _step checked).
    @return Bytes The buffer, with the collapsed text when it changed.
    @return uint256 The new end of what it holds.
    @return Value The collapsed value.
    """
    # Null and the texts the judge made hold no bytes in the buffer (start and length 0):
    # the loop below leaves them as they are.
    words: DynArray[bytes32, rows.ENCODED_WORDS] = []
    acc: uint256 = 0
    fill: uint256 = 0
    full: uint256 = 0
    emitted: bool = False
    n: uint256 = 0
    pending: bool = False
    changed: bool = False
    p: uint256 = v.start
    end: uint256 = v.start + v.length
    for _: uint256 in range(rows.MAX_ROW_BYTES):
        if p >= end:
            break
        b: uint256 = convert(extract32(buf, p), uint256) >> 248
        size: uint256 = 0
        if b == _SPACE or (b >= _TAB and b <= _CARRIAGE_RETURN):
            size = 1
        elif b >= _LEAD_C2:
            size = self._white_space(buf, p, end, False)
        if size != 0:
            # Unchanged only where a single space stands between two other characters.
            if n == 0 or pending or b != _SPACE:
                changed = True
            # A run becomes a space only between two other characters.
            pending = n != 0
            p += size
            continue
        # The byte, after the space a run before it became.
        data: uint256 = b << 248
        count: uint256 = 1
        if pending:
            data = (_SPACE << 248) | (b << 240)
            count = 2
            pending = False
        acc, fill, full, emitted = rows._put(acc, fill, data, count)
        if emitted:
            words.append(convert(full, bytes32))
        n += count
        p += 1
    if not changed and not pending:
        return buf, content, v
    if fill != 0:
        words.append(convert(acc, bytes32))
    text: Bytes[rows.ENCODED_BYTES] = slice(abi_encode(words), 64, n)
    result: rows.Value = v
    result.start = content
    result.length = n
    # Each changed text is written once (collapsing again changes nothing), so the two
    # rows' texts fit the room rows.BUFFER_BYTES keeps for them.
    grown: Bytes[rows.BUFFER_BYTES] = abi_decode(
        abi_encode(concat(slice(buf, 0, content), text, empty(bytes32))), Bytes[rows.BUFFER_BYTES]
    )
    return grown, content + n, result


@internal
@pure
def _drop_rows(
    buf: Bytes[rows.BUFFER_BYTES],
    row: DynArray[rows.Value, rows.MAX_COLUMNS],
    index: uint256,
    pc: uint256,
    end: uint256,
) -> (uint256, uint256):
    """
    @dev A drop_rows instruction: n u16, input row indices u64 x n, a column position u8
         (_NO_COLUMN: none), m u16, items x m. The row is dropped when its input index is
         listed, or its value in the column is not null and equals one of the items.
    @param buf The buffer.
    @param row The row at this step.
    @param index The row's input index.
    @param pc The instruction's offset.
    @param end The program's end.
    @return uint256 _ALIVE, DROPPED or INVALID.
    @return uint256 The next instruction's offset (when not INVALID).
    """
    if pc + 3 > end:
        return INVALID, 0
    count: uint256 = ((convert(extract32(buf, pc + 1), uint256) >> 248) << 8) | (convert(extract32(buf, pc + 2), uint256) >> 248)
    p: uint256 = pc + 3
    if count > _MAX_DROPPED_ROWS or p + 8 * count + 3 > end:
        return INVALID, 0
    dropped: bool = False
    for k: uint256 in range(_MAX_DROPPED_ROWS):
        if k == count:
            break
        if convert(extract32(buf, p + 8 * k), uint256) >> 192 == index:
            dropped = True
            break
    p += 8 * count
    at: uint256 = (convert(extract32(buf, p), uint256) >> 248)
    values: uint256 = ((convert(extract32(buf, p + 1), uint256) >> 248) << 8) | (convert(extract32(buf, p + 2), uint256) >> 248)
    p += 3
    if at == _NO_COLUMN:
        if values != 0:
            return INVALID, 0
    elif at >= len(row):
        return INVALID, 0
    for k: uint256 in range(rows.MAX_PROGRAM_BYTES):
        if k == values:
            break
        ok: bool = False
        item: rows.Value = empty(rows.Value)
        ok, item, p = rows._item(buf, p, end)
        if not ok or item.kind == rows.NULL:
            return INVALID, 0
        if row[at].kind == rows.NULL:
            continue
        order: int256 = 0
        ok, order = self._compare(buf, row[at], item)
        if not ok:
            return INVALID, 0
        if order == 0:
            dropped = True
    if dropped:
        return DROPPED, p
    return _ALIVE, p


@internal
@pure
def _step(
    buf: Bytes[rows.BUFFER_BYTES],
    values: DynArray[rows.Value, rows.MAX_COLUMNS],
    pc: uint256,
    end: uint256,
) -> (uint256, DynArray[rows.Value, rows.MAX_COLUMNS], uint256):
    """
    @dev Applies one row-local instruction (every one but dedupe) to a row.
    @param buf The buffer.
    @param values The row at this step.
    @param pc The instruction's offset.
    @param end The program's end.
    @return uint256 _ALIVE, DROPPED, FAILED or INVALID.
    @return DynArray The row after the step (when alive).
    @return uint256 The next instruction's offset (when alive).
    """
    row: DynArray[rows.Value, rows.MAX_COLUMNS] = values
    op: uint256 = (convert(extract32(buf, pc), uint256) >> 248)
    ok: bool = False
    keys: DynArray[uint256, rows.MAX_COLUMNS] = []
    p: uint256 = 0
    if op == _OP_NOP:
        return _ALIVE, row, pc + 1
    if op == _OP_SELECT:
        ok, keys, p = self._positions(buf, pc + 1, end, len(row))
        if not ok:
            return INVALID, row, 0
        picked: DynArray[rows.Value, rows.MAX_COLUMNS] = []
        for k: uint256 in keys:
            picked.append(row[k])
        return _ALIVE, picked, p
    if op == _OP_TRIM or op == _OP_DROP_NULLS:
        ok, keys, p = self._positions(buf, pc + 1, end, len(row))
        if not ok:
            return INVALID, row, 0
        for k: uint256 in keys:
            if row[k].kind == rows.NULL:
                if op == _OP_DROP_NULLS:
                    return DROPPED, row, 0
                continue
            if op == _OP_TRIM:
                if row[k].kind != rows.TEXT:
                    return INVALID, row, 0
                row[k] = self._trim(buf, row[k])
        return _ALIVE, row, p
    if op == _OP_CASE:
        if pc + 1 >= end:
            return INVALID, row, 0
        mode: uint256 = (convert(extract32(buf, pc + 1), uint256) >> 248)
        case: uint256 = mode & _CASE_BITS
        # A case mapping, a collapse (done by _judge after this), or both.
        if mode == 0 or mode > _COLLAPSE | rows.UPPER or case > rows.UPPER:
            return INVALID, row, 0
        ok, keys, p = self._positions(buf, pc + 2, end, len(row))
        if not ok:
            return INVALID, row, 0
        for k: uint256 in keys:
            if row[k].kind == rows.TEXT:
                if case != rows.AS_IS:
                    row[k].case = case
            elif row[k].kind != rows.NULL:
                return INVALID, row, 0
        return _ALIVE, row, p
    if op == _OP_CAST:
        return self._cast(buf, row, pc, end)
    if op == _OP_FILL or op == _OP_OUTLIERS:
        return self._fill_or_clip(buf, row, pc, end)
    if op == _OP_FILTER:
        if pc + 3 > end:
            return INVALID, row, 0
        length: uint256 = ((convert(extract32(buf, pc + 1), uint256) >> 248) << 8) | (convert(extract32(buf, pc + 2), uint256) >> 248)
        if pc + 3 + length > end:
            return INVALID, row, 0
        truth: uint256 = 0
        ok, truth = self._eval(buf, row, pc + 3, pc + 3 + length)
        if not ok:
            return INVALID, row, 0
        if truth != _TRUE:
            return DROPPED, row, 0
        return _ALIVE, row, pc + 3 + length
    return INVALID, row, 0


@internal
@pure
def _cast(
    buf: Bytes[rows.BUFFER_BYTES],
    values: DynArray[rows.Value, rows.MAX_COLUMNS],
    pc: uint256,
    end: uint256,
) -> (uint256, DynArray[rows.Value, rows.MAX_COLUMNS], uint256):
    """
    @dev A cast instruction: policy, count, then (position, conversion) pairs. Null stays
         null; a value that does not convert fails the row (strict), becomes null, or
         drops the row.
    @param buf The buffer.
    @param values The row.
    @param pc The instruction's offset.
    @param end The program's end.
    @return uint256 _ALIVE, DROPPED, FAILED or INVALID.
    @return DynArray The row after the step.
    @return uint256 The next instruction's offset.
    """
    row: DynArray[rows.Value, rows.MAX_COLUMNS] = values
    if pc + 3 > end:
        return INVALID, row, 0
    policy: uint256 = (convert(extract32(buf, pc + 1), uint256) >> 248)
    count: uint256 = (convert(extract32(buf, pc + 2), uint256) >> 248)
    if policy > _TO_DROP or pc + 3 + 2 * count > end:
        return INVALID, row, 0
    dropped: bool = False
    for k: uint256 in range(rows.MAX_COLUMNS):
        if k == count:
            break
        p: uint256 = (convert(extract32(buf, pc + 3 + 2 * k), uint256) >> 248)
        conversion: uint256 = (convert(extract32(buf, pc + 4 + 2 * k), uint256) >> 248)
        if p >= len(row):
            return INVALID, row, 0
        if row[p].kind == rows.NULL:
            continue
        state: uint256 = 0
        converted: rows.Value = empty(rows.Value)
        state, converted = self._convert(buf, row[p], conversion)
        if state == INVALID:
            return INVALID, row, 0
        if state == FAILED:
            if policy == _STRICT:
                return FAILED, row, 0
            if policy == _TO_DROP:
                dropped = True
        row[p] = converted
    if dropped:
        return DROPPED, row, 0
    return _ALIVE, row, pc + 3 + 2 * count


@internal
@pure
def _convert(buf: Bytes[rows.BUFFER_BYTES], v: rows.Value, conversion: uint256) -> (uint256, rows.Value):
    """
    @dev One cast of a non-null value (docs/formats/judge.md).
    @param buf The buffer.
    @param v The value.
    @param conversion The conversion code.
    @return uint256 _ALIVE when it converts, FAILED when it does not, INVALID when the
            value is not of the conversion's source type or the code is unknown.
    @return Value The converted value (null when it failed).
    """
    null: rows.Value = empty(rows.Value)
    if conversion == _INT_TO_STRING or conversion == _INT_TO_BOOL:
        if v.kind != rows.INT:
            return INVALID, null
        if conversion == _INT_TO_BOOL:
            b: int256 = 0
            if v.num != 0:
                b = 1
            return _ALIVE, rows.Value(kind=rows.BOOL, num=b, start=0, length=0, source=rows.STORED, case=rows.AS_IS)
        return _ALIVE, rows.Value(kind=rows.TEXT, num=v.num, start=0, length=0, source=rows.DIGITS, case=rows.AS_IS)
    if conversion == _BOOL_TO_INT or conversion == _BOOL_TO_STRING:
        if v.kind != rows.BOOL:
            return INVALID, null
        if conversion == _BOOL_TO_INT:
            return _ALIVE, rows.Value(kind=rows.INT, num=v.num, start=0, length=0, source=rows.STORED, case=rows.AS_IS)
        return _ALIVE, rows.Value(kind=rows.TEXT, num=v.num, start=0, length=0, source=rows.BOOL_WORD, case=rows.AS_IS)
    if conversion != _STRING_TO_INT and conversion != _STRING_TO_BOOL:
        return INVALID, null
    if v.kind != rows.TEXT:
        return INVALID, null
    length: uint256 = rows._length(v)
    if conversion == _STRING_TO_BOOL:
        if length == 4 or length == 5:
            word: uint256 = rows._word(buf, v, 0) >> (8 * (32 - length))
            if word == _TRUE_TEXT:
                return _ALIVE, rows.Value(kind=rows.BOOL, num=1, start=0, length=0, source=rows.STORED, case=rows.AS_IS)
            if word == _FALSE_TEXT:
                return _ALIVE, rows.Value(kind=rows.BOOL, num=0, start=0, length=0, source=rows.STORED, case=rows.AS_IS)
        return FAILED, null
    return self._parse_int(buf, v, length)


@internal
@pure
def _parse_int(buf: Bytes[rows.BUFFER_BYTES], v: rows.Value, length: uint256) -> (uint256, rows.Value):
    """
    @dev Polars' string -> int64 cast: an optional "+" or "-", then one or more ASCII
         digits (leading zeros allowed), the value inside int64; anything else fails.
    @param buf The buffer.
    @param v The text.
    @param length Its length.
    @return uint256 _ALIVE or FAILED.
    @return Value The integer (null when it failed).
    """
    null: rows.Value = empty(rows.Value)
    if length == 0:
        return FAILED, null
    negative: bool = False
    magnitude: uint256 = 0
    digits: uint256 = 0
    for k: uint256 in range(rows.ENCODED_WORDS):
        if 32 * k >= length:
            break
        word: uint256 = rows._word(buf, v, k)
        for b: uint256 in range(32):
            at: uint256 = 32 * k + b
            if at == length:
                break
            c: uint256 = (word >> (248 - 8 * b)) & 255
            if at == 0 and (c == _PLUS or c == _MINUS):
                negative = c == _MINUS
                continue
            if c < _ZERO or c > _NINE:
                return FAILED, null
            digits += 1
            magnitude = magnitude * 10 + (c - _ZERO)
            # Past int64 (either sign): fails, and the product above cannot overflow.
            if magnitude > rows.INT64_MAX + 1:
                return FAILED, null
    if digits == 0 or (not negative and magnitude > rows.INT64_MAX):
        return FAILED, null
    num: int256 = convert(magnitude, int256)
    if negative:
        num = -num
    return _ALIVE, rows.Value(kind=rows.INT, num=num, start=0, length=0, source=rows.STORED, case=rows.AS_IS)


@internal
@pure
def _white_space(buf: Bytes[rows.BUFFER_BYTES], p: uint256, end: uint256, backwards: bool) -> uint256:
    """
    @dev The length of the White_Space code point (the 25 of the Unicode property)
         that starts at `p` (`backwards`: that ends at `end`), decoded from UTF-8;
         0 when there is none.
    @param buf The buffer.
    @param p The text's start.
    @param end The text's end.
    @param backwards Look at the end instead of the start.
    @return uint256 1, 2 or 3 bytes, or 0.
    """
    size: uint256 = end - p
    if size == 0:
        return 0
    at: uint256 = p
    if backwards:
        # A code point is 1 to 3 bytes here: try the ending sequences of each length.
        last: uint256 = (convert(extract32(buf, end - 1), uint256) >> 248)
        if last == _SPACE or (last >= _TAB and last <= _CARRIAGE_RETURN):
            return 1
        if size >= 2 and (convert(extract32(buf, end - 2), uint256) >> 248) == _LEAD_C2 and (last == _NEXT_LINE or last == _NO_BREAK_SPACE):
            return 2
        if size < 3:
            return 0
        at = end - 3
    first: uint256 = (convert(extract32(buf, at), uint256) >> 248)
    if not backwards:
        if first == _SPACE or (first >= _TAB and first <= _CARRIAGE_RETURN):
            return 1
        if first == _LEAD_C2 and size >= 2:
            second: uint256 = (convert(extract32(buf, at + 1), uint256) >> 248)
            if second == _NEXT_LINE or second == _NO_BREAK_SPACE:
                return 2
            return 0
        if size < 3:
            return 0
    # The three bytes at `at`.
    three: uint256 = convert(extract32(buf, at), uint256) >> 232
    if three == _OGHAM_SPACE or three == _MATH_SPACE or three == _IDEOGRAPHIC_SPACE:
        return 3
    if three >> 8 == _LEAD_E2_80:
        low: uint256 = three & 255
        if (low >= _EN_QUAD and low <= _HAIR_SPACE) or low == _LINE_SEPARATOR or low == _PARAGRAPH_SEPARATOR or low == _NARROW_NO_BREAK_SPACE:
            return 3
    return 0


@internal
@pure
def _trim(buf: Bytes[rows.BUFFER_BYTES], v: rows.Value) -> rows.Value:
    """
    @dev Strips White_Space code points from both ends of a text (texts the judge made,
         digits and true/false, have none). Case mappings leave White_Space alone.
    @param buf The buffer.
    @param v The text.
    @return Value The trimmed text.
    """
    if v.source != rows.STORED:
        return v
    start: uint256 = v.start
    end: uint256 = v.start + v.length
    for _: uint256 in range(rows.MAX_ROW_BYTES):
        size: uint256 = self._white_space(buf, start, end, False)
        if size == 0:
            break
        start += size
    for _: uint256 in range(rows.MAX_ROW_BYTES):
        size: uint256 = self._white_space(buf, start, end, True)
        if size == 0:
            break
        end -= size
    result: rows.Value = v
    result.start = start
    result.length = end - start
    return result


@internal
@pure
def _fill_or_clip(
    buf: Bytes[rows.BUFFER_BYTES],
    values: DynArray[rows.Value, rows.MAX_COLUMNS],
    pc: uint256,
    end: uint256,
) -> (uint256, DynArray[rows.Value, rows.MAX_COLUMNS], uint256):
    """
    @dev A fill instruction (count, then (position, default item) pairs: a null becomes
         the default) or an outliers one (action, count, then (position, lower item,
         upper item): a value beyond a non-null fence is clipped to it or drops the row).
    @param buf The buffer.
    @param values The row.
    @param pc The instruction's offset.
    @param end The program's end.
    @return uint256 _ALIVE, DROPPED or INVALID.
    @return DynArray The row after the step.
    @return uint256 The next instruction's offset.
    """
    row: DynArray[rows.Value, rows.MAX_COLUMNS] = values
    fill: bool = (convert(extract32(buf, pc), uint256) >> 248) == _OP_FILL
    action: uint256 = _CLIP
    p: uint256 = pc + 1
    if not fill:
        if p >= end:
            return INVALID, row, 0
        action = (convert(extract32(buf, p), uint256) >> 248)
        p += 1
    if p >= end:
        return INVALID, row, 0
    count: uint256 = (convert(extract32(buf, p), uint256) >> 248)
    p += 1
    dropped: bool = False
    for k: uint256 in range(rows.MAX_COLUMNS):
        if k == count:
            break
        if p >= end:
            return INVALID, row, 0
        at: uint256 = (convert(extract32(buf, p), uint256) >> 248)
        if at >= len(row):
            return INVALID, row, 0
        ok: bool = False
        lower: rows.Value = empty(rows.Value)
        ok, lower, p = rows._item(buf, p + 1, end)
        if not ok:
            return INVALID, row, 0
        if fill:
            if row[at].kind == rows.NULL:
                row[at] = lower
            continue
        upper: rows.Value = empty(rows.Value)
        ok, upper, p = rows._item(buf, p, end)
        if not ok:
            return INVALID, row, 0
        v: rows.Value = row[at]
        if v.kind == rows.NULL:
            continue
        fence: rows.Value = empty(rows.Value)
        order: int256 = 0
        if lower.kind != rows.NULL:
            ok, order = self._compare(buf, v, lower)
            if not ok:
                return INVALID, row, 0
            if order < 0:
                fence = lower
        if fence.kind == rows.NULL and upper.kind != rows.NULL:
            ok, order = self._compare(buf, v, upper)
            if not ok:
                return INVALID, row, 0
            if order > 0:
                fence = upper
        if fence.kind != rows.NULL:
            if action == _CLIP:
                row[at] = fence
            else:
                dropped = True
    if dropped:
        return DROPPED, row, 0
    return _ALIVE, row, p


@internal
@pure
def _compare(buf: Bytes[rows.BUFFER_BYTES], a: rows.Value, b: rows.Value) -> (bool, int256):
    """
    @dev The order of two non-null values: integers exactly, an integer and a float as
         doubles (the integer rounded to the nearest, ties to even), floats as numbers,
         texts and byte strings bytewise, booleans false < true.
    @param buf The buffer.
    @param a The left value.
    @param b The right value.
    @return bool False when the two cannot be compared (different kinds).
    @return int256 -1, 0 or 1.
    """
    if (a.kind == rows.INT and b.kind == rows.INT) or (a.kind == rows.BOOL and b.kind == rows.BOOL):
        return True, self._sign(a.num, b.num)
    numeric_a: bool = a.kind == rows.INT or a.kind == rows.FLOAT
    numeric_b: bool = b.kind == rows.INT or b.kind == rows.FLOAT
    if numeric_a and numeric_b:
        return True, self._sign(self._number_key(a), self._number_key(b))
    if a.kind == b.kind and (a.kind == rows.TEXT or a.kind == rows.BYTES):
        return True, rows._order(buf, a, b)
    return False, 0


@internal
@pure
def _number_key(v: rows.Value) -> int256:
    """
    @dev A number as a double's order key.
    @param v An integer or a float.
    @return int256 The key.
    """
    if v.kind == rows.INT:
        return rows._float_key(rows._to_float(v.num))
    return rows._float_key(convert(v.num, uint256))


@internal
@pure
def _sign(a: int256, b: int256) -> int256:
    """
    @dev -1, 0 or 1 as a is below, equal to or above b.
    @param a The left number.
    @param b The right number.
    @return int256 The sign.
    """
    if a < b:
        return -1
    if a > b:
        return 1
    return 0


@internal
@pure
def _same_key(
    buf: Bytes[rows.BUFFER_BYTES],
    xs: DynArray[rows.Value, rows.MAX_COLUMNS],
    ys: DynArray[rows.Value, rows.MAX_COLUMNS],
    keys: DynArray[uint256, rows.MAX_COLUMNS],
) -> bool:
    """
    @dev Whether two rows hold equal values at the key's positions (null equals null).
    @param buf The buffer.
    @param xs One row.
    @param ys The other.
    @param keys The key's positions.
    @return bool True when every key value is equal.
    """
    for k: uint256 in keys:
        a: rows.Value = xs[k]
        b: rows.Value = ys[k]
        if a.kind != b.kind:
            return False
        if a.kind == rows.NULL:
            continue
        ok: bool = False
        order: int256 = 0
        ok, order = self._compare(buf, a, b)
        if not ok or order != 0:
            return False
    return True


@internal
@pure
def _truth(v: rows.Value) -> uint256:
    """
    @dev A condition's truth value: _TRUE, _FALSE, or _UNKNOWN for null.
    @param v A boolean or null.
    @return uint256 The truth value.
    """
    if v.kind == rows.NULL:
        return _UNKNOWN
    return convert(v.num, uint256)


@internal
@pure
def _condition(truth: uint256) -> rows.Value:
    """
    @dev A truth value as a value: a boolean, or null for unknown.
    @param truth _TRUE, _FALSE or _UNKNOWN.
    @return Value The value.
    """
    if truth == _UNKNOWN:
        return empty(rows.Value)
    return rows.Value(kind=rows.BOOL, num=convert(truth, int256), start=0, length=0, source=rows.STORED, case=rows.AS_IS)


@internal
@pure
def _eval(
    buf: Bytes[rows.BUFFER_BYTES],
    row: DynArray[rows.Value, rows.MAX_COLUMNS],
    start: uint256,
    end: uint256,
) -> (bool, uint256):
    """
    @dev Evaluates filter code `buf[start:end]` on a row, in three-valued logic.
    @param buf The buffer.
    @param row The row.
    @param start The code's offset.
    @param end Its end.
    @return bool Whether the code is well formed (one condition left on the stack).
    @return uint256 _TRUE, _FALSE or _UNKNOWN.
    """
    stack: DynArray[rows.Value, MAX_STACK] = []
    p: uint256 = start
    for _: uint256 in range(rows.MAX_PROGRAM_BYTES):
        if p >= end:
            break
        op: uint256 = (convert(extract32(buf, p), uint256) >> 248)
        if op == _X_COL or op == _X_IS_NULL:
            if p + 1 >= end or len(stack) == MAX_STACK:
                return False, 0
            at: uint256 = (convert(extract32(buf, p + 1), uint256) >> 248)
            if at >= len(row):
                return False, 0
            if op == _X_COL:
                stack.append(row[at])
            else:
                null: uint256 = _FALSE
                if row[at].kind == rows.NULL:
                    null = _TRUE
                stack.append(self._condition(null))
            p += 2
        elif op == _X_LIT:
            if len(stack) == MAX_STACK:
                return False, 0
            ok: bool = False
            literal: rows.Value = empty(rows.Value)
            ok, literal, p = rows._item(buf, p + 1, end)
            if not ok:
                return False, 0
            stack.append(literal)
        elif op == _X_NOT:
            if len(stack) == 0:
                return False, 0
            a: rows.Value = stack.pop()
            if a.kind != rows.NULL and a.kind != rows.BOOL:
                return False, 0
            truth: uint256 = self._truth(a)
            if truth != _UNKNOWN:
                truth = 1 - truth
            stack.append(self._condition(truth))
            p += 1
        else:
            if len(stack) < 2:
                return False, 0
            b: rows.Value = stack.pop()
            a: rows.Value = stack.pop()
            result: uint256 = _UNKNOWN
            if op == _X_AND or op == _X_OR:
                if (a.kind != rows.NULL and a.kind != rows.BOOL) or (b.kind != rows.NULL and b.kind != rows.BOOL):
                    return False, 0
                ta: uint256 = self._truth(a)
                tb: uint256 = self._truth(b)
                # The value that decides alone: false for and, true for or.
                decides: uint256 = _FALSE
                if op == _X_OR:
                    decides = _TRUE
                if ta == decides or tb == decides:
                    result = decides
                elif ta == _UNKNOWN or tb == _UNKNOWN:
                    result = _UNKNOWN
                else:
                    result = 1 - decides
            elif op >= _X_EQ and op <= _X_GE:
                if a.kind != rows.NULL and b.kind != rows.NULL:
                    ok: bool = False
                    order: int256 = 0
                    ok, order = self._compare(buf, a, b)
                    if not ok:
                        return False, 0
                    holds: bool = False
                    if op == _X_EQ:
                        holds = order == 0
                    elif op == _X_NE:
                        holds = order != 0
                    elif op == _X_LT:
                        holds = order < 0
                    elif op == _X_LE:
                        holds = order <= 0
                    elif op == _X_GT:
                        holds = order > 0
                    else:
                        holds = order >= 0
                    result = _FALSE
                    if holds:
                        result = _TRUE
            else:
                return False, 0
            stack.append(self._condition(result))
            p += 1
    if p != end or len(stack) != 1:
        return False, 0
    last: rows.Value = stack[0]
    if last.kind != rows.NULL and last.kind != rows.BOOL:
        return False, 0
    return True, self._truth(last)
