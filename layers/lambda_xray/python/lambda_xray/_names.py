"""Characters X-Ray accepts in a segment name, for names that are not plain ASCII.

Imported only when a name contains a non-ASCII character (rare: names are
handler names, AWS service names and host names). The class is the one in
AWS's published segment document schema (letters, numbers, spaces and
``_ . : / % & # = + - @``), so whatever passes here passes the schema; a test
checks every code point against the schema's own pattern.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

#: The schema's character class, compactly: its ranges of code points in order,
#: each as two base-36 numbers, the gap after the previous range's end and the
#: range's length minus one (1.1 KB less in every layer version than the class
#: spelled out; tests/layer/test_names.py has the encoder).
_RANGES = (
    "w,0,2,0,1,1,4,0,1,d,2,0,2,q,4,0,1,p,11,0,9,0,7,1,1,0,3,1,1,2,1,m,1,u,1,cp,4,b,e,4,7,0,1,"
    "0,3l,4,1,1,2,3,1,0,6,0,1,2,1,0,1,j,1,2a,1,3u,8,4l,1,11,2,0,7,12,20,q,5,2,19,16,l,9,4,1,1"
    ",2q,1,0,f,1,7,e,2,0,g,0,1,t,t,2g,b,0,e,16,9,1,4,0,5,l,4,0,9,0,3,0,n,o,1z,k,27,1h,3,0,i,0"
    ",7,9,4,9,1,f,4,7,2,1,2,l,1,6,1,0,3,3,3,0,g,0,d,1,1,2,4,b,2,5,b,5,4,1,2,l,1,6,1,1,1,1,1,1"
    ",v,3,1,0,7,9,2,2,g,8,1,2,1,l,1,6,1,1,1,4,3,0,i,0,f,1,4,9,9,0,b,7,2,1,2,l,1,6,1,1,1,4,3,0"
    ",u,1,1,2,4,9,1,6,b,0,1,5,3,2,1,3,3,1,1,0,1,1,3,1,3,2,3,b,m,0,l,c,i,7,1,2,1,m,1,f,3,0,q,2"
    ",5,1,4,9,8,6,6,7,1,2,1,m,1,9,1,4,3,0,w,0,1,1,4,9,1,1,i,7,1,2,1,14,2,0,g,0,g,2,4,f,4,5,5,"
    "h,3,n,1,8,1,0,2,6,v,9,h,1b,1,1,c,6,9,9,13,1,1,0,2,1,1,0,2,0,6,3,1,6,1,2,1,0,1,0,2,1,1,3,"
    "1,1,9,0,2,4,1,0,9,9,2,3,w,0,v,j,c,7,1,z,r,4,37,16,k,a,6,5,4,3,3,0,3,1,7,2,4,c,c,0,1,9,6,"
    "11,1,0,5,0,2,16,1,98,1,3,2,6,1,0,1,3,2,14,1,3,2,w,1,3,2,6,1,0,1,3,2,e,1,1k,1,3,2,1u,e,j,"
    "3,f,g,2d,2,5,3,h7,2,17,5,22,3,a,7,c,1,3,e,h,e,h,e,c,1,2,f,1f,z,0,4,0,3,9,6,9,m,9,6,2f,8,"
    "14,1,0,5,1x,a,u,13,13,2,4,b,17,4,p,6,a,11,m,9,1g,17,9,6,9,d,0,2l,1a,h,6,4,9,15,t,d,1j,q,"
    "z,s,9,3,1c,2z,3,1,3,3,1,9,5b,1s,7p,2,5,2,11,2,5,2,7,1,0,1,0,1,0,1,u,2,1g,1,6,1,0,3,2,1,6"
    ",3,3,2,5,4,c,5,2,1,6,3,a,t,1,5,0,1b,0,g,1,2,5,5,a,6,c,2t,0,4,0,2,9,1,0,3,4,6,0,1,0,1,0,1"
    ",3,1,a,2,3,5,4,4,0,1,1l,k6,1n,26,l,hi,t,vg,1a,1,1a,1,3o,6,3,3,1,9,0,2,11,1,0,5,0,2,1j,7,"
    "0,g,m,9,6,1,6,1,6,1,6,1,6,1,6,1,6,1,6,28,0,cw,0,4,2,p,8,7,4,2,4,4,2d,6,2,1,2h,1,3,5,14,3"
    ",2l,3,3,a,q,1h,f,w,9,u,7,1,e,w,9,13,e,8w,52t,22,g5x,16,wc,1v,19,2,7g,3,r,k,1a,g,u,2,27,1"
    "3,8,2,2u,2,y,2,7,1r,a,1,2,1,3,1,m,d,5,a,1f,e,1d,s,9,o,5,3,0,1,0,2,11,a,m,p,s,7,1a,s,a,6,"
    "4,1,o,1,14,n,2,1,7,4,9,6,m,3,0,3,1d,1,0,3,1,2,4,2,0,1,0,o,2,2,a,7,2,c,5,2,5,2,5,9,6,1,6,"
    "1,16,1,9,a,36,d,9,6,8mb,c,m,4,1c,6is,a5,2,2x,12,6,c,4,5,0,1,9,1,c,1,4,1,0,1,1,1,1,1,2z,x"
    ",a2,i,1r,2,1h,14,b,38,4,1,3q,j,9,7,p,6,p,b,2g,3,5,2,5,2,5,2,2"
)


def _character_class(ranges: str) -> str:
    """The ``[...]`` body of ``ranges``: ``\\uXXXX-\\uXXXX`` per range (all in the BMP)."""
    numbers = [int(number, 36) for number in ranges.split(",")]
    pieces = []
    end = -1
    for gap, length in zip(numbers[::2], numbers[1::2], strict=True):
        start = end + 1 + gap
        end = start + length
        pieces.append(f"\\u{start:04x}-\\u{end:04x}")
    return "".join(pieces)


#: Matches one character a segment name may not contain.
DISALLOWED: Final = re.compile("[^" + _character_class(_RANGES) + "]")
