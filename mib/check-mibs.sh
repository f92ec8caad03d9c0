#!/usr/bin/env bash
# Check l3vpnd's own MIB modules (L3VPND-MIB, L3VPND-CAPABILITY-MIB):
#   1. smilint -l 4 reports nothing for either module;
#   2. net-snmp loads both without a message;
#   3. every name has the OID the code uses (and that OID maps back to the
#      name), and every object has the MAX-ACCESS and SYNTAX the code uses.
# Only the modules in mib/mibs are used (SMIPATH and -M replace the system
# paths), so a missing import is an error here too.
# Exit status: 0 all good, 1 a check failed, 2 a tool is missing.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mibdir="$here/mibs"
modules=(L3VPND-MIB L3VPND-CAPABILITY-MIB)

for tool in smilint snmptranslate; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-mibs: $tool not found (install smitools / snmp)" >&2
        exit 2
    fi
done

fail=0
bad() {
    echo "FAIL: $*"
    fail=1
}

# snmptranslate with only our directory, whatever the environment says.
st() {
    env -u MIBS -u MIBDIRS snmptranslate -M "$mibdir" "$@"
}

# 1. smilint ---------------------------------------------------------------
# Twice per module: once finding imports through SMIPATH, once with every
# other module of the directory preloaded by path (-p). libsmi checks some
# clauses (e.g. a DEFVAL in a VARIATION) only when the imported objects were
# preloaded, so either run alone can miss an error. In the -p run smilint
# also reports the preloaded standard modules; only lines about the module
# under test count.
for m in "${modules[@]}"; do
    out="$(SMIPATH="$mibdir" smilint -l 4 -s "$mibdir/$m.txt" 2>&1)"
    pre=()
    for f in "$mibdir"/*.txt; do
        [ "$f" = "$mibdir/$m.txt" ] || pre+=(-p "$f")
    done
    out2="$(SMIPATH="$mibdir" smilint -l 4 -s "${pre[@]}" "$mibdir/$m.txt" 2>&1 |
        grep -F "$m.txt:" || true)"
    if [ -n "$out$out2" ]; then
        bad "smilint -l 4 $m:"
        printf '%s\n' "$out" "$out2" | sed '/^$/d; s/^/    /'
    else
        echo "ok: smilint -l 4 $m (SMIPATH and -p preloads): no errors, no warnings"
    fi
done

# 2. net-snmp loads both modules ----------------------------------------------
err="$(st -m L3VPND-MIB:L3VPND-CAPABILITY-MIB -Tp -IR l3vpndMIB 2>&1 >/dev/null)"
rc=$?
if [ $rc -ne 0 ] || [ -n "$err" ]; then
    bad "snmptranslate -m L3VPND-MIB:L3VPND-CAPABILITY-MIB (rc $rc):"
    printf '%s\n' "$err" | sed 's/^/    /'
else
    echo "ok: net-snmp loads L3VPND-MIB and L3VPND-CAPABILITY-MIB"
fi
# With every module of the directory: messages about our files are failures,
# others are shown.
err="$(st -m ALL -Tz 2>&1 >/dev/null)"
if printf '%s' "$err" | grep -q 'L3VPND'; then
    bad "snmptranslate -m ALL:"
    printf '%s\n' "$err" | sed 's/^/    /'
elif [ -n "$err" ]; then
    echo "note: snmptranslate -m ALL reports, about other modules:"
    printf '%s\n' "$err" | sed 's/^/    /'
fi

# 3. OIDs, access and syntax --------------------------------------------------
# (load messages were reported above; only standard output counts here)
# module::name | OID | MAX-ACCESS (- = none) | SYNTAX as net-snmp shows it (- = none)
P=.1.3.6.1.4.1.32473
table="
L3VPND-MIB::l3vpndMIB                |$P.1          |-             |-
L3VPND-MIB::l3vpndNotifications      |$P.1.0        |-             |-
L3VPND-MIB::l3vpndObjects            |$P.1.1        |-             |-
L3VPND-MIB::l3vpndScalars            |$P.1.1.1      |-             |-
L3VPND-MIB::l3vpndLabelStaticMin     |$P.1.1.1.1    |read-write    |Unsigned32 (16..1048575)
L3VPND-MIB::l3vpndLabelStaticMax     |$P.1.1.1.2    |read-write    |Unsigned32 (16..1048575)
L3VPND-MIB::l3vpndLabelDynamicMin    |$P.1.1.1.3    |read-write    |Unsigned32 (16..1048575)
L3VPND-MIB::l3vpndLabelDynamicMax    |$P.1.1.1.4    |read-write    |Unsigned32 (16..1048575)
L3VPND-MIB::l3vpndFibBackend         |$P.1.1.1.5    |read-only     |INTEGER {shadow(1), netlink(2)}
L3VPND-MIB::l3vpndFibCapVrfDevice    |$P.1.1.1.6    |read-only     |INTEGER {true(1), false(2)}
L3VPND-MIB::l3vpndFibCapMpls         |$P.1.1.1.7    |read-only     |INTEGER {true(1), false(2)}
L3VPND-MIB::l3vpndFibCapIpv6         |$P.1.1.1.8    |read-only     |INTEGER {true(1), false(2)}
L3VPND-MIB::l3vpndVrfRteMxThrshTime  |$P.1.1.1.9    |read-write    |Unsigned32
L3VPND-MIB::l3vpndLabelsAllocated    |$P.1.1.1.10   |read-only     |Gauge32
L3VPND-MIB::l3vpndVrfTable           |$P.1.1.2      |not-accessible|-
L3VPND-MIB::l3vpndVrfEntry           |$P.1.1.2.1    |not-accessible|-
L3VPND-MIB::l3vpndVrfLabelMode       |$P.1.1.2.1.1  |read-write    |INTEGER {perVrf(1), perPrefix(2), perNextHop(3)}
L3VPND-MIB::l3vpndVrfLabel           |$P.1.1.2.1.2  |read-only     |Unsigned32 (0 | 16..1048575)
L3VPND-MIB::l3vpndVrfTableId         |$P.1.1.2.1.3  |read-only     |Unsigned32
L3VPND-MIB::l3vpndVrfFibStatus       |$P.1.1.2.1.4  |read-only     |INTEGER {pending(1), installed(2), failed(3), notApplicable(4)}
L3VPND-MIB::l3vpndVrfFibReason       |$P.1.1.2.1.5  |read-only     |OCTET STRING (0..255)
L3VPND-MIB::l3vpndVrfFibLastChange   |$P.1.1.2.1.6  |read-only     |TimeTicks
L3VPND-MIB::l3vpndVrfFibRoutes       |$P.1.1.2.1.7  |read-only     |Gauge32
L3VPND-MIB::l3vpndBgp                |$P.1.1.3      |-             |-
L3VPND-MIB::l3vpndNotifyStats        |$P.1.1.4      |-             |-
L3VPND-MIB::l3vpndNotifyTrapsSent               |$P.1.1.4.1     |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyInformsSent             |$P.1.1.4.2     |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyInformsAcked            |$P.1.1.4.3     |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyInformsRetried          |$P.1.1.4.4     |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyInformsLost             |$P.1.1.4.5     |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyDropped                 |$P.1.1.4.6     |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyTargetTable             |$P.1.1.4.7     |not-accessible|-
L3VPND-MIB::l3vpndNotifyTargetEntry             |$P.1.1.4.7.1   |not-accessible|-
L3VPND-MIB::l3vpndNotifyTargetTrapsSent         |$P.1.1.4.7.1.1 |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyTargetInformsSent       |$P.1.1.4.7.1.2 |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyTargetInformsAcked      |$P.1.1.4.7.1.3 |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyTargetInformsRetried    |$P.1.1.4.7.1.4 |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyTargetInformsLost       |$P.1.1.4.7.1.5 |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyTargetDropped           |$P.1.1.4.7.1.6 |read-only     |Counter32
L3VPND-MIB::l3vpndNotifyTargetInformsPending    |$P.1.1.4.7.1.7 |read-only     |Gauge32
L3VPND-MIB::l3vpndNotifyTargetDiscontinuityTime |$P.1.1.4.7.1.8 |read-only     |TimeTicks
L3VPND-MIB::l3vpndNotifyGroup                   |$P.1.2.1.4     |-             |-
L3VPND-MIB::l3vpndConformance        |$P.1.2        |-             |-
L3VPND-MIB::l3vpndGroups             |$P.1.2.1      |-             |-
L3VPND-MIB::l3vpndScalarGroup        |$P.1.2.1.1    |-             |-
L3VPND-MIB::l3vpndVrfGroup           |$P.1.2.1.2    |-             |-
L3VPND-MIB::l3vpndCompliances        |$P.1.2.2      |-             |-
L3VPND-MIB::l3vpndCompliance         |$P.1.2.2.1    |-             |-
L3VPND-MIB::l3vpndProducts           |$P.2          |-             |-
L3VPND-MIB::l3vpndAgent              |$P.2.1        |-             |-
L3VPND-CAPABILITY-MIB::l3vpndCapabilities    |$P.3   |-     |-
L3VPND-CAPABILITY-MIB::l3vpndAgentCapability |$P.3.1 |-     |-
"

trim() {
    local s="$1"
    s="${s#"${s%%[![:space:]]*}"}"
    s="${s%"${s##*[![:space:]]}"}"
    printf '%s' "$s"
}

n=0
while IFS='|' read -r name oid access syntax; do
    name="$(trim "$name")"
    [ -z "$name" ] && continue
    oid="$(trim "$oid")"
    access="$(trim "$access")"
    syntax="$(trim "$syntax")"
    n=$((n + 1))

    got="$(st -m ALL -On "$name" 2>/dev/null)"
    if [ "$got" != "$oid" ]; then
        bad "$name: OID '$got', want '$oid'"
        continue
    fi
    back="$(st -m ALL "$oid" 2>/dev/null)"
    if [ "$back" != "$name" ]; then
        bad "$oid: translates back to '$back', want '$name'"
    fi

    def="$(st -m ALL -Td "$name" 2>/dev/null)"
    got_access="$(printf '%s\n' "$def" | awk -F'\t' '/^  MAX-ACCESS/ {print $2}')"
    got_syntax="$(printf '%s\n' "$def" | awk -F'\t' '/^  SYNTAX/ {print $2}')"
    got_access="$(trim "$got_access")"
    got_syntax="$(trim "$got_syntax")"
    [ "$access" = "-" ] && access=""
    [ "$syntax" = "-" ] && syntax=""
    if [ "$got_access" != "$access" ]; then
        bad "$name: MAX-ACCESS '$got_access', want '$access'"
    fi
    if [ "$got_syntax" != "$syntax" ]; then
        bad "$name: SYNTAX '$got_syntax', want '$syntax'"
    fi
done <<<"$table"
echo "checked $n names (OID both ways, MAX-ACCESS, SYNTAX)"

# The notification statistics table augments snmpTargetAddrEntry.
aug="$(st -m ALL -Td L3VPND-MIB::l3vpndNotifyTargetEntry 2>/dev/null | awk -F'\t' '/^  AUGMENTS/ {print $2}')"
if [ "$(trim "$aug")" != "{ snmpTargetAddrEntry }" ]; then
    bad "l3vpndNotifyTargetEntry: AUGMENTS '$aug', want '{ snmpTargetAddrEntry }'"
fi

# The extension table shares the index of mplsL3VpnVrfTable.
aug="$(st -m ALL -Td L3VPND-MIB::l3vpndVrfEntry 2>/dev/null | awk -F'\t' '/^  AUGMENTS/ {print $2}')"
if [ "$(trim "$aug")" != "{ mplsL3VpnVrfEntry }" ]; then
    bad "l3vpndVrfEntry: AUGMENTS '$aug', want '{ mplsL3VpnVrfEntry }'"
fi

if [ $fail -ne 0 ]; then
    echo "check-mibs: FAILED"
    exit 1
fi
echo "check-mibs: all checks passed"
