"""PowerDNS's HTTP API, and the Pulumi dynamic provider that manages one record set through it.

There is no maintained Pulumi provider for PowerDNS (PyPI has a community `pulumi-powerdns` 0.0.4
from 2023 whose plugin binary is downloaded from GitHub at install time, which an air-gapped
site cannot do), so the record set is a `pulumi.dynamic.Resource` whose provider speaks the
documented API (https://doc.powerdns.com/authoritative/http-api/) with the standard library only:

- create: checks the server first (zone exists, LUA records enabled for it, health-check interval
  the server can honour) and refuses to take over a record set of the same name it did not write
  (every write marks the record set with its stack in an rrset comment; an identical record set
  or one with this stack's mark is taken over, e.g. after a lost state), then PATCHes the zone
  with `changetype: REPLACE`.
- diff: the server, zone, name and type identify the record set (a change replaces it); TTL and
  contents update it in place; the API URL alone updates (same server, new address).
- update: PATCH REPLACE; delete: PATCH DELETE (a zone or record set already gone is fine);
  read: the record set as the server holds it now (gone -> the resource is gone).

The API key: the dynamic provider runs in Pulumi's own provider process and gets the key from
its `configure` call, i.e. from the inputs of the explicit `pulumi-python` provider resource
this module creates (a secret input, so the state holds it encrypted). The key is never an input
or output of the record set, so it never appears in the state in plain text, and a `pulumi
destroy` (which does not run the program) still finds it there.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi.dynamic

API_KEY_CONFIG: Final = "inference-failover:powerdnsApiKey"
"""Where `configure` finds the API key (the provider resource's input of that name)."""
USER_AGENT: Final = "inference-failover-pulumi"
TIMEOUT_SECONDS: Final = 15.0
IDENTITY: Final = ("server_id", "zone", "name", "type")
"""Record-set fields whose change means another record set: replaced, not updated."""


class PowerDnsApiError(Exception):
    """An API call failed; the message names the call, the status and what to do."""


def _dotted(name: str) -> str:
    return name.rstrip(".") + "."


@dataclass(frozen=True)
class ServerInfo:
    version: str
    lua_records: str
    """enable-lua-records: no, yes or shared (the server's own setting)."""
    health_check_interval_seconds: int
    """lua-health-checks-interval: how often the server runs every LUA health check."""

    @property
    def major_minor(self) -> tuple[int, int]:
        parts = [*(int(p) for p in self.version.split("-")[0].split(".")[:2] if p.isdigit()), 0, 0]
        return parts[0], parts[1]

    @property
    def honours_check_options(self) -> bool:
        """PowerDNS 5.0 added the `interval` and `minimumFailures` options of ifurlup; older
        servers check every lua-health-checks-interval and mark an address down on one failure."""
        return self.major_minor >= (5, 0)


class PowerDnsClient:
    """The few API calls the record set needs, on `<api_url>/servers/<server_id>`."""

    def __init__(self, api_url: str, api_key: str, server_id: str = "localhost") -> None:
        self.api_url = api_url.rstrip("/")
        self.server_id = server_id
        self._key = api_key

    def _request(self, method: str, path: str, body: object | None = None) -> tuple[int, Any]:
        url = f"{self.api_url}/servers/{urllib.parse.quote(self.server_id, safe='')}{path}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("X-API-Key", self._key)
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", USER_AGENT)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            try:
                detail = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                detail = text
            return exc.code, {"error": str(detail).strip()[:500]}
        except (urllib.error.URLError, OSError) as exc:
            raise PowerDnsApiError(
                f"PowerDNS API {method} {url} could not be reached ({getattr(exc, 'reason', exc)}): check "
                "powerdnsApiUrl and that the webserver (api=yes, webserver-address, webserver-allow-from) "
                "admits this machine"
            ) from exc

    def _ok(self, method: str, path: str, body: object | None = None, allow: Sequence[int] = ()) -> Any:
        status, payload = self._request(method, path, body)
        if status < 300 or status in allow:
            return payload
        detail = payload.get("error") if isinstance(payload, dict) else payload
        fix = {
            401: "the API key was refused: check the secret powerdnsApiKey against the server's api-key",
            404: "check powerdnsServerId and the zone (dnsZone must exist on the server)",
            422: "the server refused the record set",
        }.get(status, "see the server's log")
        raise PowerDnsApiError(f"PowerDNS API {method} {path} answered {status}: {detail}; {fix}")

    # --- server and zone -------------------------------------------------------------------

    def server_info(self) -> ServerInfo:
        server = self._ok("GET", "")
        settings = {item.get("name"): item.get("value") for item in self._ok("GET", "/config") or []}
        interval = str(settings.get("lua-health-checks-interval") or "5")
        return ServerInfo(
            version=str(server.get("version", "")),
            lua_records=str(settings.get("enable-lua-records") or "no"),
            health_check_interval_seconds=int(interval) if interval.isdigit() else 5,
        )

    def zone(self, zone: str) -> dict[str, Any] | None:
        status, payload = self._request("GET", f"/zones/{urllib.parse.quote(_dotted(zone))}")
        if status in (404, 422):
            return None
        if status >= 300:
            raise PowerDnsApiError(f"PowerDNS API GET zone {zone} answered {status}: {payload}")
        return dict(payload)

    def zone_lua_enabled(self, zone: str) -> bool:
        """The zone's ENABLE-LUA-RECORDS metadata is 1 (the API lists it, but cannot set it)."""
        status, payload = self._request("GET", f"/zones/{urllib.parse.quote(_dotted(zone))}/metadata")
        entries = payload if status < 300 and isinstance(payload, list) else []
        for entry in entries:
            if isinstance(entry, dict) and entry.get("kind") == "ENABLE-LUA-RECORDS":
                values = entry.get("metadata") or []
                return bool(values) and str(values[0]).strip() == "1"
        return False

    def rrsets(self, zone: str, name: str) -> list[dict[str, Any]]:
        found = self.zone(zone)
        if found is None:
            return []
        return [r for r in found.get("rrsets") or [] if r.get("name") == _dotted(name)]

    def rrset(self, zone: str, name: str, rtype: str) -> dict[str, Any] | None:
        return next((r for r in self.rrsets(zone, name) if r.get("type") == rtype), None)

    # --- record sets -----------------------------------------------------------------------

    def replace(
        self, zone: str, name: str, rtype: str, ttl: int, contents: Sequence[str], *, owner: str = ""
    ) -> None:
        rrset: dict[str, Any] = {
            "name": _dotted(name),
            "type": rtype,
            "ttl": ttl,
            "changetype": "REPLACE",
            "records": [{"content": c, "disabled": False} for c in contents],
        }
        if owner:
            # The rrset's comment marks who wrote it, so a lost state can adopt its own record
            # set and still refuses anyone else's.
            rrset["comments"] = [{"content": owner_mark(owner), "account": OWNER_ACCOUNT}]
        self._ok("PATCH", f"/zones/{urllib.parse.quote(_dotted(zone))}", {"rrsets": [rrset]})

    def delete(self, zone: str, name: str, rtype: str) -> None:
        rrset = {"name": _dotted(name), "type": rtype, "changetype": "DELETE"}
        # 404/422: the zone (and so the record set) is already gone.
        path = f"/zones/{urllib.parse.quote(_dotted(zone))}"
        self._ok("PATCH", path, {"rrsets": [rrset]}, allow=(404, 422))


OWNER_ACCOUNT: Final = "inference-failover"


def owner_mark(owner: str) -> str:
    """The rrset comment that says which stack wrote the record set."""
    return f"managed by {owner} with Pulumi; changes here are overwritten by its next pulumi up"


def written_by(rrset: Mapping[str, Any], owner: str) -> bool:
    return any(
        c.get("account") == OWNER_ACCOUNT and c.get("content") == owner_mark(owner)
        for c in rrset.get("comments") or []
    )


def _contents(rrset: Mapping[str, Any] | None) -> list[str]:
    return sorted(str(r.get("content")) for r in (rrset or {}).get("records") or [] if not r.get("disabled"))


def preflight(client: PowerDnsClient, props: Mapping[str, Any]) -> ServerInfo:
    """What must hold on the server before the record set is written; raises naming the fix."""
    zone = str(props["zone"])
    info = client.server_info()
    if client.zone(zone) is None:
        raise PowerDnsApiError(
            f"zone {_dotted(zone)} does not exist on PowerDNS server {client.server_id} at {client.api_url}: "
            f"create it (`pdnsutil create-zone {zone.rstrip('.')}`) or fix dnsZone"
        )
    if str(props["type"]) == "LUA" and info.lua_records == "no" and not client.zone_lua_enabled(zone):
        raise PowerDnsApiError(
            f"LUA records are disabled on PowerDNS server {client.server_id} ({info.version}): set "
            f"enable-lua-records=yes in pdns.conf and restart, or enable them for this zone only with "
            f"`pdnsutil set-meta {zone.rstrip('.')} ENABLE-LUA-RECORDS 1`; without it the record "
            "would answer SERVFAIL"
        )
    wanted = int(props.get("check_interval_seconds") or 0)
    if wanted and not info.honours_check_options and info.health_check_interval_seconds > wanted:
        raise PowerDnsApiError(
            f"PowerDNS {info.version} runs LUA health checks every lua-health-checks-interval = "
            f"{info.health_check_interval_seconds} s (servers before 5.0 ignore the record's own interval), "
            f"slower than healthCheckIntervalSeconds = {wanted} s, so failover would take longer than the "
            f"RTO budget: set lua-health-checks-interval={wanted} (or lower) in pdns.conf, or raise "
            "healthCheckIntervalSeconds"
        )
    return info


class PowerDnsRRsetProvider(pulumi.dynamic.ResourceProvider):
    """CRUD of one record set (name, type) in an existing zone; the key comes from `configure`."""

    _api_key: str | None = None

    def configure(self, req: pulumi.dynamic.ConfigureRequest) -> None:
        value = req.config.get(API_KEY_CONFIG)
        self._api_key = str(value) if value else None

    def _client(self, props: Mapping[str, Any]) -> PowerDnsClient:
        if not self._api_key:
            raise PowerDnsApiError(
                f"no PowerDNS API key reached the record's provider (its input {API_KEY_CONFIG}): "
                "set it with `pulumi config set --secret powerdnsApiKey <key>`"
            )
        return PowerDnsClient(str(props["api_url"]), self._api_key, str(props["server_id"]))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        failures = [
            pulumi.dynamic.CheckFailure(key, f"{key} must be set")
            for key in ("api_url", "server_id", "zone", "name", "type")
            if not news.get(key)
        ]
        if not news.get("records"):
            failures.append(pulumi.dynamic.CheckFailure("records", "records must hold at least one record"))
        return pulumi.dynamic.CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        client = self._client(props)
        info = preflight(client, props)
        zone, name, rtype = str(props["zone"]), str(props["name"]), str(props["type"])
        wanted = sorted(str(c) for c in props["records"])
        owner = str(props.get("owner") or "")
        for existing in client.rrsets(zone, name):
            same = existing.get("type") == rtype and _contents(existing) == wanted
            ours = existing.get("type") == rtype and bool(owner) and written_by(existing, owner)
            if not (same or ours) and existing.get("type") in (rtype, "CNAME", "A", "AAAA"):
                raise PowerDnsApiError(
                    f"{_dotted(name)} already has a {existing.get('type')} record set on PowerDNS server "
                    f"{client.server_id} that this stack did not write ({_contents(existing)[:2]}...): "
                    "remove it "
                    f"(`pdnsutil delete-rrset {zone.rstrip('.')} {_dotted(name)} {existing.get('type')}`) "
                    "if nothing else uses it, so no record is silently replaced"
                )
        client.replace(zone, name, rtype, int(props["ttl"]), wanted, owner=owner)
        return pulumi.dynamic.CreateResult(
            f"{client.server_id}/{_dotted(zone)}/{_dotted(name)}/{rtype}",
            {**props, "server_version": info.version},
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        def norm(props: Mapping[str, Any], key: str) -> object:
            value = props.get(key)
            return sorted(str(v) for v in value) if key == "records" and value is not None else value

        keys = ("api_url", *IDENTITY, "ttl", "records", "check_interval_seconds", "owner")
        changed = [k for k in keys if norm(olds, k) != norm(news, k)]
        replaces = [k for k in changed if k in IDENTITY]
        return pulumi.dynamic.DiffResult(
            changes=bool(changed),
            replaces=replaces,
            stables=["server_id", "zone", "name", "type"] if not replaces else [],
            # A new name never collides with the old one; the same name is rewritten by create.
            delete_before_replace=False,
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        client = self._client(news)
        info = preflight(client, news)
        client.replace(
            str(news["zone"]), str(news["name"]), str(news["type"]), int(news["ttl"]),
            sorted(str(c) for c in news["records"]), owner=str(news.get("owner") or ""),
        )  # fmt: skip
        return pulumi.dynamic.UpdateResult({**news, "server_version": info.version})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._client(props).delete(str(props["zone"]), str(props["name"]), str(props["type"]))

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        client = self._client(props)
        found = client.rrset(str(props["zone"]), str(props["name"]), str(props["type"]))
        if found is None:
            return pulumi.dynamic.ReadResult("", {})  # no id: gone, refresh drops it from the state
        return pulumi.dynamic.ReadResult(id_, {**props, "ttl": found.get("ttl"), "records": _contents(found)})


class PowerDnsRRset(pulumi.dynamic.Resource, module="powerdns", name="RRset"):
    """One record set at a PowerDNS server, written through its HTTP API."""

    records: pulumi.Output[list[str]]
    server_version: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        api_url: pulumi.Input[str],
        server_id: pulumi.Input[str],
        zone: pulumi.Input[str],
        record_name: pulumi.Input[str],
        record_type: pulumi.Input[str],
        ttl: pulumi.Input[int],
        records: pulumi.Input[Sequence[pulumi.Input[str]]],
        check_interval_seconds: pulumi.Input[int] | None = None,
        owner: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            PowerDnsRRsetProvider(),
            name,
            {
                "api_url": api_url,
                "server_id": server_id,
                "zone": zone,
                "name": record_name,
                "type": record_type,
                "ttl": ttl,
                "records": records,
                "check_interval_seconds": check_interval_seconds,
                "owner": owner,
                "server_version": None,
            },
            opts,
        )


def api_provider(
    name: str, api_key: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
) -> pulumi.ProviderResource:
    """The explicit `pulumi-python` provider the record set runs under, holding the key as a secret.

    Explicit because the project disables default providers (`pulumi:disable-default-providers:
    ["*"]`, which the engine applies to the dynamic `pulumi-python` package too); its inputs are
    what the provider's `configure` receives.
    """
    return pulumi.ProviderResource(
        "pulumi-python", name, {API_KEY_CONFIG: pulumi.Output.secret(api_key)}, opts
    )
