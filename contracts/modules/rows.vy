# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title rows
@custom:contract-name rows
@license Apache-2.0
@notice The `datasoil-rows-v1` row on chain (docs/formats/rows.md): a DAG-CBOR array of
        scalars, read into `Value`s and written back. The subset rows use: unsigned and
        negative integers (int64), byte and text strings, null, true, false and
        64-bit floats (kept as their IEEE 754 bits). `_decode` checks what it reads:
        shortest heads, no other major types or simple values, finite floats that are
        not -0.0, integers inside int64, lengths inside the row, nothing after the
        array, at most MAX_COLUMNS values. Text is not checked to be UTF-8 (rows under
        a registered root were encoded from valid text); `judge.vy` decodes the code
        points it needs.
        Text and byte values are not copied: a `Value` names its bytes by offset and
        length in the buffer it was read from; a text made by the judge is described
        instead (the decimal digits of an integer, the word true or false) and may carry
        an ASCII case mapping, applied word by word when its bytes are read (`_word`).
        `_encode` writes values back as canonical DAG-CBOR, 32 bytes at a time.
@dev A pure module: no storage, no initialisation. Every function takes the buffer the
     values point into; the buffer must end with PAD zero bytes past its last row or
     program byte, so 32-byte reads (`extract32`) never run off its end.
"""

# @dev The widest row read (columns).
MAX_COLUMNS: constant(uint256) = 64

# @dev The longest row read or written, in bytes.
MAX_ROW_BYTES: constant(uint256) = 4096

# @dev The longest judge program (bytes), which shares the buffer with the rows.
MAX_PROGRAM_BYTES: constant(uint256) = 4096

# @dev Zero bytes after the last meaningful byte of a buffer.
PAD: constant(uint256) = 32

# @dev A buffer: the disputed row, an earlier row, the program, the texts the judge writes
# (a normalise that collapses whitespace copies each changed text once: at most the two
# rows' bytes), the padding.
BUFFER_BYTES: constant(uint256) = 4 * MAX_ROW_BYTES + MAX_PROGRAM_BYTES + PAD

# @dev Words `_encode` writes at most (one more than a full row, for the last partial one).
ENCODED_WORDS: constant(uint256) = MAX_ROW_BYTES // 32 + 1

# @dev The bound of `_encode`'s result: an ABI-encoded array of ENCODED_WORDS words, sliced.
ENCODED_BYTES: constant(uint256) = 64 + 32 * ENCODED_WORDS

# @dev Value kinds.
NULL: constant(uint256) = 0
BOOL: constant(uint256) = 1
INT: constant(uint256) = 2
FLOAT: constant(uint256) = 3
TEXT: constant(uint256) = 4
BYTES: constant(uint256) = 5

# @dev Where a text's bytes come from: the buffer, the decimal digits of `num`, or the
# word "true" (`num` 1) or "false" (`num` 0).
STORED: constant(uint256) = 0
DIGITS: constant(uint256) = 1
BOOL_WORD: constant(uint256) = 2

# @dev ASCII case mappings a text may carry.
AS_IS: constant(uint256) = 0
LOWER: constant(uint256) = 1
UPPER: constant(uint256) = 2

# @dev int64 bounds.
INT64_MAX: constant(uint256) = 9223372036854775807

# @dev CBOR major types.
_UNSIGNED: constant(uint256) = 0
_NEGATIVE: constant(uint256) = 1
_BYTE_STRING: constant(uint256) = 2
_TEXT_STRING: constant(uint256) = 3
_ARRAY: constant(uint256) = 4
_SIMPLE: constant(uint256) = 7

# @dev Initial bytes of the simple values and of a 64-bit float.
_FALSE_BYTE: constant(uint256) = 244
_TRUE_BYTE: constant(uint256) = 245
_NULL_BYTE: constant(uint256) = 246
_FLOAT64_BYTE: constant(uint256) = 251

# @dev IEEE 754 double: the sign bit, the exponent field when all ones (inf, NaN).
_SIGN_BIT: constant(uint256) = 1 << 63
_EXPONENT_MASK: constant(uint256) = 2047 << 52
_MANTISSA_MASK: constant(uint256) = (1 << 52) - 1

# @dev Bytes per word, and per-byte constants for the word-wide ASCII case mapping.
_WORD: constant(uint256) = 32
# A byte 0x01 in each of the 32 positions; each constant below is a byte repeated.
_ONES: constant(uint256) = max_value(uint256) // 255
_HIGH_BITS: constant(uint256) = 128 * _ONES
_LOW_BITS: constant(uint256) = 127 * _ONES
# heptet + 0x3f sets bit 7 from "A" (0x41) on, + 0x25 from "[" (0x5b) on.
_FROM_UPPER_A: constant(uint256) = 63 * _ONES
_PAST_UPPER_Z: constant(uint256) = 37 * _ONES
# heptet + 0x1f sets bit 7 from "a" (0x61) on, + 0x05 from "{" (0x7b) on.
_FROM_LOWER_A: constant(uint256) = 31 * _ONES
_PAST_LOWER_Z: constant(uint256) = 5 * _ONES

# @dev "true" (0x74727565) and "false" (0x66616c7365), left-aligned in a word.
_TRUE_WORD: constant(uint256) = 1953658213 << 224
_FALSE_WORD: constant(uint256) = 439721161573 << 216


# @dev One value of a row. `num`: a bool's 0/1, an integer, a float's 64 bits, or the
# integer or bool a DIGITS or BOOL_WORD text is made from. `start`, `length`: a STORED
# text's or a byte string's bytes in the buffer. `source`: STORED, DIGITS or BOOL_WORD.
# `case`: AS_IS, LOWER or UPPER, applied to a text's bytes when read.
struct Value:
    kind: uint256
    num: int256
    start: uint256
    length: uint256
    source: uint256
    case: uint256


@internal
@pure
def _byte(buf: Bytes[BUFFER_BYTES], p: uint256) -> uint256:
    """
    @dev The byte at `p` (p < len(buf) - PAD + 1: the padding keeps the read inside).
    @param buf The buffer.
    @param p The offset.
    @return uint256 The byte.
    """
    return convert(extract32(buf, p), uint256) >> 248


@internal
@pure
def _head(buf: Bytes[BUFFER_BYTES], p: uint256, end: uint256) -> (bool, uint256, uint256, uint256):
    """
    @dev Reads the CBOR head at `p`: its major type and argument (for major type 7 the
         additional information, or a float's 64 bits), refusing indefinite lengths,
         reserved values and heads longer than the argument needs.
    @param buf The buffer.
    @param p The head's offset.
    @param end The end of the item's bytes (at most len(buf) - PAD).
    @return bool Whether a canonical head lies inside `end`.
    @return uint256 The major type.
    @return uint256 The argument.
    @return uint256 The offset after the head.
    """
    if p >= end:
        return False, 0, 0, 0
    word: uint256 = convert(extract32(buf, p), uint256)
    first: uint256 = word >> 248
    major: uint256 = first >> 5
    info: uint256 = first & 31
    if info < 24:
        return True, major, info, p + 1
    if info > 27:
        return False, 0, 0, 0
    # 1, 2, 4 or 8 argument bytes.
    size: uint256 = 1 << (info - 24)
    if p + 1 + size > end:
        return False, 0, 0, 0
    arg: uint256 = (word >> (248 - 8 * size)) & ((1 << (8 * size)) - 1)
    if major == _SIMPLE:
        # Only the 64-bit float has argument bytes among the simple values rows use.
        if info != 27:
            return False, 0, 0, 0
        return True, major, arg, p + 1 + size
    # Shortest form: the argument must not fit a smaller head.
    smallest: uint256 = 24
    if size > 1:
        smallest = 1 << (4 * size)
    if arg < smallest:
        return False, 0, 0, 0
    return True, major, arg, p + 1 + size


@internal
@pure
def _item(buf: Bytes[BUFFER_BYTES], p: uint256, end: uint256) -> (bool, Value, uint256):
    """
    @dev Reads one scalar at `p`: an integer inside int64, a byte or text string inside
         `end`, null, true, false, or a finite 64-bit float that is not -0.0.
    @param buf The buffer.
    @param p The item's offset.
    @param end The end of the enclosing row or program.
    @return bool Whether a rows-v1 scalar lies there.
    @return Value The value.
    @return uint256 The offset after it.
    """
    bad: Value = empty(Value)
    ok: bool = False
    major: uint256 = 0
    arg: uint256 = 0
    q: uint256 = 0
    ok, major, arg, q = self._head(buf, p, end)
    if not ok:
        return False, bad, 0
    if major == _UNSIGNED or major == _NEGATIVE:
        if arg > INT64_MAX:
            return False, bad, 0
        num: int256 = convert(arg, int256)
        if major == _NEGATIVE:
            # -1 - arg >= -2**63.
            num = unsafe_sub(-1, num)
        return True, Value(kind=INT, num=num, start=0, length=0, source=STORED, case=AS_IS), q
    if major == _BYTE_STRING or major == _TEXT_STRING:
        if arg > end - q:
            return False, bad, 0
        kind: uint256 = BYTES
        if major == _TEXT_STRING:
            kind = TEXT
        return True, Value(kind=kind, num=0, start=q, length=arg, source=STORED, case=AS_IS), q + arg
    if major != _SIMPLE:
        return False, bad, 0
    first: uint256 = self._byte(buf, p)
    if first == _NULL_BYTE:
        return True, empty(Value), q
    if first == _FALSE_BYTE or first == _TRUE_BYTE:
        return True, Value(
            kind=BOOL, num=convert(first - _FALSE_BYTE, int256), start=0, length=0, source=STORED, case=AS_IS
        ), q
    if first != _FLOAT64_BYTE or arg & _EXPONENT_MASK == _EXPONENT_MASK or arg == _SIGN_BIT:
        return False, bad, 0
    return True, Value(kind=FLOAT, num=convert(arg, int256), start=0, length=0, source=STORED, case=AS_IS), q


@internal
@pure
def _decode(
    buf: Bytes[BUFFER_BYTES], start: uint256, length: uint256
) -> (bool, DynArray[Value, MAX_COLUMNS]):
    """
    @dev Decodes the row `buf[start:start + length]`: an array head, its values, and
         nothing after them.
    @param buf The buffer.
    @param start The row's offset.
    @param length The row's length (start + length at most len(buf) - PAD).
    @return bool Whether the bytes are a rows-v1 row of at most MAX_COLUMNS values.
    @return DynArray The values.
    """
    values: DynArray[Value, MAX_COLUMNS] = []
    end: uint256 = start + length
    ok: bool = False
    major: uint256 = 0
    count: uint256 = 0
    p: uint256 = 0
    ok, major, count, p = self._head(buf, start, end)
    if not ok or major != _ARRAY or count > MAX_COLUMNS:
        return False, []
    for k: uint256 in range(MAX_COLUMNS):
        if k == count:
            break
        value: Value = empty(Value)
        ok, value, p = self._item(buf, p, end)
        if not ok:
            return False, []
        values.append(value)
    return p == end, values


@internal
@pure
def _digits(num: int256) -> Bytes[79]:
    """
    @dev The decimal text of an integer: "-" for a negative one, no leading zeros.
    @param num The integer.
    @return Bytes The digits.
    """
    if num < 0:
        return concat(b"-", convert(uint2str(convert(-num, uint256)), Bytes[78]))
    return convert(uint2str(convert(num, uint256)), Bytes[78])


@internal
@pure
def _length(v: Value) -> uint256:
    """
    @dev A text's or byte string's length in bytes.
    @param v The value.
    @return uint256 The length.
    """
    if v.source == DIGITS:
        return len(self._digits(v.num))
    if v.source == BOOL_WORD:
        return 5 - convert(v.num, uint256)
    return v.length


@internal
@pure
def _ascii_case(word: uint256, case: uint256) -> uint256:
    """
    @dev Maps the ASCII letters among a word's 32 bytes to lower (A-Z to a-z) or upper
         case (a-z to A-Z), all at once; other bytes, UTF-8 lead and continuation bytes
         included (bit 7 set), stay.
    @param word The bytes.
    @param case LOWER or UPPER (AS_IS returns the word).
    @return uint256 The mapped bytes.
    """
    if case == AS_IS:
        return word
    heptets: uint256 = word & _LOW_BITS
    ascii: uint256 = ~word & _HIGH_BITS
    from_a: uint256 = _FROM_UPPER_A
    past_z: uint256 = _PAST_UPPER_Z
    if case == UPPER:
        from_a = _FROM_LOWER_A
        past_z = _PAST_LOWER_Z
    # Per byte, heptet + constant <= 0x7f + 0x3f: no carry into the next byte.
    letters: uint256 = unsafe_add(heptets, from_a) & ~unsafe_add(heptets, past_z) & ascii
    # Bit 5 (0x20) tells the cases apart.
    return word ^ (letters >> 2)


@internal
@pure
def _word(buf: Bytes[BUFFER_BYTES], v: Value, k: uint256) -> uint256:
    """
    @dev Bytes 32k to 32k + 31 of a text or byte string, as read (its case mapping
         applied), left-aligned, zero past its end. Only for 32k below its length.
    @param buf The buffer.
    @param v The value.
    @param k The word's number.
    @return uint256 The word.
    """
    word: uint256 = 0
    length: uint256 = 0
    if v.source == DIGITS:
        digits: Bytes[79] = self._digits(v.num)
        length = len(digits)
        word = convert(extract32(concat(digits, empty(bytes32)), 0), uint256)
    elif v.source == BOOL_WORD:
        length = 5 - convert(v.num, uint256)
        word = _FALSE_WORD
        if v.num == 1:
            word = _TRUE_WORD
    else:
        word = convert(extract32(buf, v.start + _WORD * k), uint256)
        length = v.length - _WORD * k
    if length < _WORD:
        word &= ~((1 << (8 * (_WORD - length))) - 1)
    return self._ascii_case(word, v.case)


@internal
@pure
def _order(buf: Bytes[BUFFER_BYTES], a: Value, b: Value) -> int256:
    """
    @dev Byte-wise order of two texts or byte strings (code-point order for UTF-8 text),
         word by word: -1, 0 or 1.
    @param buf The buffer.
    @param a The left value.
    @param b The right value.
    @return int256 The sign of a - b.
    """
    la: uint256 = self._length(a)
    lb: uint256 = self._length(b)
    for k: uint256 in range(ENCODED_WORDS):
        if _WORD * k >= la or _WORD * k >= lb:
            break
        wa: uint256 = self._word(buf, a, k)
        wb: uint256 = self._word(buf, b, k)
        if wa != wb:
            if wa < wb:
                return -1
            return 1
    if la == lb:
        return 0
    if la < lb:
        return -1
    return 1


@internal
@pure
def _float_key(bits: uint256) -> int256:
    """
    @dev A finite double's bits as an integer with the same order (0.0 and -0.0 equal).
    @param bits The IEEE 754 bits.
    @return int256 The key.
    """
    magnitude: int256 = convert(bits & (_SIGN_BIT - 1), int256)
    if bits & _SIGN_BIT != 0:
        return -magnitude
    return magnitude


@internal
@pure
def _to_float(num: int256) -> uint256:
    """
    @dev The double nearest an integer of at most 64 bits, ties to even (Rust's `as f64`,
         as Polars casts an int64 to compare it with a float).
    @param num The integer.
    @return uint256 The double's IEEE 754 bits.
    """
    if num == 0:
        return 0
    sign: uint256 = 0
    m: uint256 = 0
    if num < 0:
        sign = _SIGN_BIT
        m = convert(-num, uint256)
    else:
        m = convert(num, uint256)
    # e = the position of the highest set bit (m < 2**64).
    e: uint256 = 0
    for step: uint256 in [32, 16, 8, 4, 2, 1]:
        if m >> (e + step) != 0:
            e += step
    mantissa: uint256 = 0
    if e <= 52:
        mantissa = m << (52 - e)
    else:
        drop: uint256 = e - 52
        mantissa = m >> drop
        rest: uint256 = m & ((1 << drop) - 1)
        half: uint256 = 1 << (drop - 1)
        if rest > half or (rest == half and mantissa & 1 == 1):
            mantissa += 1
            if mantissa == 1 << 53:
                mantissa >>= 1
                e += 1
    return sign | ((e + 1023) << 52) | (mantissa & _MANTISSA_MASK)


@internal
@pure
def _put(acc: uint256, fill: uint256, data: uint256, n: uint256) -> (uint256, uint256, uint256, bool):
    """
    @dev Appends `n` <= 32 bytes (left-aligned in `data`, zero after) to a pending word
         holding `fill` < 32 bytes.
    @param acc The pending word.
    @param fill Its byte count.
    @param data The bytes.
    @param n Their count.
    @return uint256 The new pending word.
    @return uint256 Its byte count.
    @return uint256 A word completed by these bytes.
    @return bool Whether one was completed.
    """
    joined: uint256 = acc | (data >> (8 * fill))
    if fill + n < _WORD:
        return joined, fill + n, 0, False
    # Shifts of 256 bits or more give 0.
    return data << (8 * (_WORD - fill)), fill + n - _WORD, joined, True


@internal
@pure
def _head_bytes(major: uint256, arg: uint256) -> (uint256, uint256):
    """
    @dev The shortest CBOR head of a major type and argument, left-aligned.
    @param major The major type.
    @param arg The argument (below 2**64).
    @return uint256 The head's bytes.
    @return uint256 Its length.
    """
    if arg < 24:
        return ((major << 5) | arg) << 248, 1
    size: uint256 = 8
    info: uint256 = 27
    if arg < 256:
        size = 1
        info = 24
    elif arg < 65536:
        size = 2
        info = 25
    elif arg < 1 << 32:
        size = 4
        info = 26
    return (((major << 5) | info) << 248) | (arg << (248 - 8 * size)), 1 + size


@internal
@pure
def _encode(buf: Bytes[BUFFER_BYTES], values: DynArray[Value, MAX_COLUMNS]) -> (bool, Bytes[ENCODED_BYTES]):
    """
    @dev The canonical DAG-CBOR row of `values` (docs/formats/rows.md), written a word at
         a time.
    @param buf The buffer the values' bytes are in.
    @param values The values.
    @return bool False when the row would be longer than MAX_ROW_BYTES.
    @return Bytes The row.
    """
    words: DynArray[bytes32, ENCODED_WORDS] = []
    acc: uint256 = 0
    fill: uint256 = 0
    full: uint256 = 0
    emitted: bool = False
    total: uint256 = 0
    data: uint256 = 0
    n: uint256 = 0
    data, n = self._head_bytes(_ARRAY, len(values))
    acc, fill, full, emitted = self._put(acc, fill, data, n)
    total = n
    for v: Value in values:
        length: uint256 = 0
        if v.kind == NULL:
            data = _NULL_BYTE << 248
            n = 1
        elif v.kind == BOOL:
            data = (_FALSE_BYTE + convert(v.num, uint256)) << 248
            n = 1
        elif v.kind == INT:
            if v.num >= 0:
                data, n = self._head_bytes(_UNSIGNED, convert(v.num, uint256))
            else:
                data, n = self._head_bytes(_NEGATIVE, convert(-1 - v.num, uint256))
        elif v.kind == FLOAT:
            data = (_FLOAT64_BYTE << 248) | (convert(v.num, uint256) << 184)
            n = 9
        else:
            length = self._length(v)
            major: uint256 = _BYTE_STRING
            if v.kind == TEXT:
                major = _TEXT_STRING
            data, n = self._head_bytes(major, length)
        if total + n + length > MAX_ROW_BYTES:
            return False, b""
        total += n + length
        acc, fill, full, emitted = self._put(acc, fill, data, n)
        if emitted:
            words.append(convert(full, bytes32))
        for k: uint256 in range(ENCODED_WORDS):
            if _WORD * k >= length:
                break
            n = min(_WORD, length - _WORD * k)
            acc, fill, full, emitted = self._put(acc, fill, self._word(buf, v, k), n)
            if emitted:
                words.append(convert(full, bytes32))
    if fill != 0:
        words.append(convert(acc, bytes32))
    # abi_encode of the words: their offset, their count, then the words themselves.
    return True, slice(abi_encode(words), 64, total)
