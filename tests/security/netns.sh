# Sourced by the security suites: own_netns "$0" "$@" re-runs the calling
# suite inside a network namespace of its own (pbxsec-<pid>) and exits
# with its status; inside it (PBX_SEC_NS set) it returns at once. The
# namespace has its own loopback, ports and firewall: the suite's
# attacker and carrier addresses exist only there, nothing it sends can
# leave the machine, and its ports (5060, 6390, ...) never meet another
# stack's. Needs root; without it the suite fails with one FAIL line.
own_netns() {
	local self=$1 ns rc
	shift
	[ -n "${PBX_SEC_NS:-}" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "FAIL security_namespace needs root to create a network namespace"
		echo "0 passed, 1 failed"
		exit 1
	fi
	ns=pbxsec-$$
	if ! ip netns add "$ns"; then
		echo "FAIL security_namespace cannot create $ns"
		echo "0 passed, 1 failed"
		exit 1
	fi
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" env PBX_SEC_NS="$ns" "$self" "$@"
	rc=$?
	ip netns del "$ns"
	exit $rc
}
