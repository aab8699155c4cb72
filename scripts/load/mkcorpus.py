#!/usr/bin/env python3
"""Write the generated files of the loader's bad-input corpus (testdata/load).

The other corpus files are small and written by hand; these are generated
because their point is their bytes (line endings, encodings) or their size.
Run from the repository root: scripts/load/mkcorpus.py
"""
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "load")
HEAD = "item_id,site_id,date,forecast,lower,upper"


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def rows(n, day0=1):
    return [f"A,1,2025-01-{d:02d},{d},{d},{d}" for d in range(day0, day0 + n)]


# Excel for Mac "CSV (Macintosh)": every line ends with a bare CR.
write("mac_cr.csv", ("\r".join([HEAD] + rows(3)) + "\r").encode())

# An LF file with one stray CR in the middle of a line: its line ends cannot
# be determined, the file is refused.
write("mixed_line_endings.csv", ("\n".join([HEAD] + rows(2) + ["A,1,2025-01-03,3\r,3,3"] + rows(2, 4)) + "\n").encode())

# The panic of issue 11: a quoted field ending in CR, then an empty last field.
write("quote_cr_empty_last.csv", (HEAD + "\n" + '"X\r",1,2025-01-01,1,1,' + "\n" + "\n".join(rows(2, 2)) + "\n").encode())

# A CR after a closing quote, in an LF file: not two clean fields (RFC 4180
# readers refuse it); here, a stray CR, so the file is refused.
write("quote_cr_junk.csv", (HEAD + "\n" + '"1"\r,1,2025-01-01,1,1,1' + "\n" + "\n".join(rows(2, 2)) + "\n").encode())

# An ERP export of 100 data lines whose line 61 opens a quote that is never
# closed on that line; the next quote is on line 69, inside an unquoted field
# (2"X10MM). Only line 61 is rejected; lines 62-69 load.
erp = ["DEPÓSITO,PRODUTO/SERVIÇO,MATERIAL,FAMÍLIA,NOME FORNEC.,QUANTIDADE,U.M.,DATA REQUISITADA,SOLICITAÇÃO,DATA SOLICITADO,DATA DE COMPRA"]
for line in range(2, 102):
    code = f"{10800 + line:06d}"
    material = f"ITEM {line}"
    if line == 61:
        material = '"TUBO 3/4 POL,DE PVC'
    if line == 69:
        material = 'PREGO 2"X10MM'
    erp.append(f"BAJSS002-3,{code},{material},MATERIAL CIVIL,FORNECEDOR {line % 7},{line}.0,UN,,{94000 + line},2024-11-{1 + line % 28:02d},2024-12-02")
write("erp_unclosed_quote.csv", ("\n".join(erp) + "\n").encode())

# Brazilian dialect (;, decimal comma, thousands .): quantities whose dots are
# not groups of three digits are rejected rows naming the column.
br = ["DEPÓSITO;PRODUTO/SERVIÇO;MATERIAL;FAMÍLIA;NOME FORNEC.;QUANTIDADE;U.M.;DATA REQUISITADA;SOLICITAÇÃO;DATA SOLICITADO;DATA DE COMPRA"]
for i, q in enumerate(["1.234.567,89", "1.5", "1.2.3", "12.34", "10,0", "1.234", "80,25"]):
    br.append(f"BAJSS002-3;0108{i:02d};ITEM {i};MATERIAL CIVIL;FORNECEDOR;{q};UN;;946{i:02d};02/12/2024;02/12/2024")
write("thousands_groups.csv", ("\n".join(br) + "\n").encode("latin-1"))

# A ;-delimited UTF-8 file with a byte order mark, given to a ,-delimited source.
write("bom_semicolon.csv", b"\xef\xbb\xbf" + ("\n".join(r.replace(",", ";") for r in [HEAD] + rows(2)) + "\n").encode())

# UTF-16 (Excel "Unicode Text"): with and without a byte order mark.
text = "\r\n".join([HEAD] + rows(2)) + "\r\n"
write("utf16le_bom.csv", b"\xff\xfe" + text.encode("utf-16-le"))
write("utf16be_nobom.csv", text.encode("utf-16-be"))

# Timestamps far from 2000 (once clamped to 1708..2292 by the encoder) load
# exactly; one with a fraction of a microsecond, or a year past 9999, is a
# rejected row.
ts = ["1700-01-01T00:00:00Z", "2300-06-01T12:00:00Z", "0001-01-01T00:00:00Z", "2025-01-01T00:00:00.1234567Z",
      "10000-01-01T00:00:00Z", "2025-11-11T06:00:00.123456Z"]
write("timestamps_far.csv", ("\n".join([HEAD + ",generated_at"] + [f"A,1,2025-01-{i + 1:02d},1,1,1,{t}" for i, t in enumerate(ts)]) + "\n").encode())
