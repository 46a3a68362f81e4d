"""Sign and verify a course's Open Badges as VC-JWT (Open Badges 3.0, section "JSON Web Token Proof Format").

Each course has its own Ed25519 key, made the first time badges are issued, kept in
`<course>/.factorylab/badge-key.pem` readable by its owner alone (as the course secret, autograde/secret.py).
A credential is signed as a compact JWS whose header names the key (`kid`, a DID URL) and whose payload is the
credential plus the claims OB 3.0 asks for (`iss`, `jti`, `sub`, `nbf`); joserfc does the JOSE work.
The algorithm is `Ed25519` (RFC 9864's name for EdDSA on Ed25519; OB 3.0 requires verifiers to support RS256
and permits others).

The issuer is a DID that resolves to the key:
- `did:web:<host>[:<path>]` when the course settings name one (autograde/badge_settings.py): its DID document,
  `did.json`, is written beside the badges and the trainer publishes it at the address `did_web_url` gives;
- otherwise the key's own `did:key`, which needs no web server: the key is in the identifier itself.
"""

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from autograde.course import WORK_DIR
from autograde.errors import BadgeError

KEY_FILE = "badge-key.pem"
ALGORITHM = "Ed25519"
DID_KEY_PREFIX = "did:key:z"
ED25519_MULTICODEC = b"\xed\x01"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"]
WEB_KEY_FRAGMENT = "key-1"
CLOCK_SKEW_S = 300  # tolerated advance of the issuer's clock over the verifier's


def key_path(course_root: Path) -> Path:
    return Path(course_root) / WORK_DIR / KEY_FILE


def signing_key(course_root: Path) -> OKPKey:
    """The course's badge signing key, created (owner-only) the first time it is needed."""
    path = key_path(course_root)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(OKPKey.generate_key("Ed25519").as_pem(private=True))
    if path.stat().st_mode & 0o077:
        raise BadgeError(f"{path}: readable by others (mode {path.stat().st_mode & 0o777:o}); `chmod 600 {path}`, "
                         "and if it may have been copied, delete it: the next report makes a new key (publish the "
                         "new did.json; badges signed with the old key then no longer verify)")
    try:
        key = OKPKey.import_key(path.read_bytes())
    except (ValueError, JoseError) as error:
        raise BadgeError(f"{path}: not an Ed25519 private key in PEM ({error}); delete it to make a new one") from None
    if key.as_dict(private=False).get("crv") != "Ed25519" or not key.is_private:
        raise BadgeError(f"{path}: not an Ed25519 private key; delete it to make a new one")
    return key


def _public_bytes(key: OKPKey) -> bytes:
    encoded = key.as_dict(private=False)["x"]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def _base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, rest = divmod(number, 58)
        digits = BASE58[rest] + digits
    return BASE58[0] * (len(data) - len(data.lstrip(b"\0"))) + digits


def _unbase58(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in BASE58:
            raise BadgeError(f"{text!r}: not base58btc")
        number = number * 58 + BASE58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip(BASE58[0]))) + body


def did_key(key: OKPKey) -> str:
    """The key's did:key (multibase base58btc of the Ed25519 multicodec and the public key)."""
    return DID_KEY_PREFIX + _base58(ED25519_MULTICODEC + _public_bytes(key))


def key_of_did_key(did: str) -> OKPKey:
    """The public key a did:key identifier holds."""
    if not did.startswith(DID_KEY_PREFIX):
        raise BadgeError(f"{did!r}: not a did:key in base58btc")
    raw = _unbase58(did.removeprefix(DID_KEY_PREFIX))
    if not raw.startswith(ED25519_MULTICODEC) or len(raw) != 34:
        raise BadgeError(f"{did!r}: not an Ed25519 did:key")
    x = base64.urlsafe_b64encode(raw[2:]).rstrip(b"=").decode()
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": x})


def verification_method(issuer: str) -> str:
    """The DID URL of the issuer's signing key: the JWT's `kid`."""
    if issuer.startswith("did:key:"):
        return f"{issuer}#{issuer.removeprefix('did:key:')}"
    return f"{issuer}#{WEB_KEY_FRAGMENT}"


def did_document(issuer: str, key: OKPKey) -> dict:
    """The DID document of a did:web issuer, to publish as `did.json` (the public key only)."""
    method = verification_method(issuer)
    return {
        "@context": DID_CONTEXT,
        "id": issuer,
        "verificationMethod": [{"id": method, "type": "JsonWebKey2020", "controller": issuer,
                                "publicKeyJwk": key.as_dict(private=False)}],
        "assertionMethod": [method],
        "authentication": [method],
    }


def did_web_url(issuer: str) -> str:
    """Where a did:web's document must be served (W3C did:web method): did:web:host -> https://host/.well-known/
    did.json, did:web:host:a:b -> https://host/a/b/did.json."""
    host, *path = issuer.removeprefix("did:web:").split(":")
    host = host.replace("%3A", ":")
    return f"https://{host}/{'/'.join(path)}/did.json" if path else f"https://{host}/.well-known/did.json"


def _numeric_date(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).timestamp())


def sign(credential: dict, key: OKPKey) -> str:
    """The credential as an OB 3.0 VC-JWT signed by `key` (the credential's issuer must be this key's DID)."""
    issuer = credential["issuer"]["id"]
    claims = {**credential, "iss": issuer, "jti": credential["id"], "sub": credential["credentialSubject"]["id"],
              "nbf": _numeric_date(credential["validFrom"])}
    header = {"alg": ALGORITHM, "kid": verification_method(issuer), "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[ALGORITHM])


def _resolve(kid: str, document: dict | None) -> OKPKey:
    did = kid.split("#", 1)[0]
    if did.startswith("did:key:"):
        return key_of_did_key(did)
    if document is None:
        raise BadgeError(f"the key {kid} is in the issuer's did.json, published at {did_web_url(did)}: pass it "
                         "(--did-document did.json)")
    if document.get("id") != did:
        raise BadgeError(f"the did.json given is {document.get('id')!r}'s, not the issuer's ({did})")
    if kid not in document.get("assertionMethod", ()):
        raise BadgeError(f"{kid}: not an assertion method of the issuer's did.json")
    method = next((m for m in document.get("verificationMethod", ()) if m.get("id") == kid), None)
    if method is None or "publicKeyJwk" not in method or "d" in method["publicKeyJwk"]:
        raise BadgeError(f"{kid}: the issuer's did.json holds no public key (publicKeyJwk) with this id")
    try:
        return OKPKey.import_key(method["publicKeyJwk"])
    except (ValueError, JoseError) as error:
        raise BadgeError(f"{kid}: the issuer's did.json holds an unreadable key ({error})") from None


def verify(token: str, did_document: dict | None = None) -> dict:
    """The credential of a VC-JWT after checking its signature against the issuer's key (from the did:key
    itself, or from the published `did_document` of a did:web) and its claims against the credential, as
    OB 3.0's "Verify a Credential VC-JWT Signature" asks. Raises BadgeError saying what does not hold."""
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=" * (-len(token.split(".")[0]) % 4)))
    except (ValueError, IndexError):
        raise BadgeError("not a compact JWS (header.payload.signature)") from None
    if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
        raise BadgeError(f"JOSE header {header}: expected alg {ALGORITHM} and a kid")
    key = _resolve(header["kid"], did_document)
    try:
        claims = dict(jwt.decode(token, key, algorithms=[ALGORITHM]).claims)
    except JoseError as error:
        raise BadgeError(f"the signature does not verify with the issuer's key {header['kid']} ({error})") from None
    credential = {name: value for name, value in claims.items() if name not in ("iss", "jti", "sub", "nbf", "exp")}
    expected = {"iss": credential.get("issuer", {}).get("id"), "jti": credential.get("id"),
                "sub": credential.get("credentialSubject", {}).get("id")}
    for claim, value in expected.items():
        if claims.get(claim) != value or value is None:
            raise BadgeError(f"claim {claim} = {claims.get(claim)!r} does not match the credential ({value!r})")
    if header["kid"].split("#", 1)[0] != expected["iss"]:
        raise BadgeError(f"signed with {header['kid']}, which is not a key of the issuer {expected['iss']}")
    if claims.get("nbf") != _numeric_date(credential.get("validFrom", "1970-01-01T00:00:00Z")):
        raise BadgeError(f"claim nbf = {claims.get('nbf')!r} is not the credential's validFrom")
    if claims["nbf"] > datetime.now(UTC).timestamp() + CLOCK_SKEW_S:
        raise BadgeError(f"not valid yet: validFrom is {credential['validFrom']}")
    return credential
