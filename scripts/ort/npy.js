'use strict';
// Minimal NumPy .npy reader/writer (format versions 1.0-3.0, C order,
// little-endian numeric dtypes). Enough to move tensors between Python,
// bitnpu and ONNX Runtime without extra packages.

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// descr -> [TypedArray, ONNX Runtime tensor type]
const DTYPES = {
  '<f4': [Float32Array, 'float32'],
  '<f8': [Float64Array, 'float64'],
  '|i1': [Int8Array, 'int8'],
  '|u1': [Uint8Array, 'uint8'],
  '<i2': [Int16Array, 'int16'],
  '<u2': [Uint16Array, 'uint16'],
  '<i4': [Int32Array, 'int32'],
  '<u4': [Uint32Array, 'uint32'],
  '<i8': [BigInt64Array, 'int64'],
  '<u8': [BigUint64Array, 'uint64'],
};
const BOOL_DESCR = '|b1';

function parseHeader(text, path) {
  const descr = /'descr':\s*'([^']+)'/.exec(text);
  const fortran = /'fortran_order':\s*(True|False)/.exec(text);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`${path}: malformed .npy header`);
  if (fortran[1] === 'True') throw new Error(`${path}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  return { descr: descr[1].replace(/^=/, '<'), dims };
}

// Returns { data: TypedArray, dims: number[], type: ORT type string }.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const { descr, dims } = parseHeader(buf.toString('latin1', start, start + headerLen), path);
  const count = dims.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + headerLen);
  if (descr === BOOL_DESCR) {
    return { data: Uint8Array.from(body.subarray(0, count)).map((v) => (v ? 1 : 0)), dims, type: 'bool' };
  }
  const entry = DTYPES[descr];
  if (!entry) throw new Error(`${path}: unsupported dtype ${descr}`);
  const [Typed, type] = entry;
  if (body.length < count * Typed.BYTES_PER_ELEMENT) throw new Error(`${path}: truncated data`);
  // Copy into an aligned buffer: the payload offset need not be aligned.
  const aligned = new Uint8Array(count * Typed.BYTES_PER_ELEMENT);
  aligned.set(body.subarray(0, aligned.length));
  return { data: new Typed(aligned.buffer), dims, type };
}

function descrOf(data) {
  for (const [descr, [Typed]] of Object.entries(DTYPES)) {
    if (data instanceof Typed) return descr;
  }
  throw new Error(`cannot write ${data.constructor.name} to .npy`);
}

function writeNpy(path, data, dims, type) {
  const descr = type === 'bool' ? BOOL_DESCR : descrOf(data);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1; // + trailing newline
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

module.exports = { readNpy, writeNpy };
