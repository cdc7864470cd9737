# `npm run bench -- --vm` (bench/vm.mjs), in the VM: create, start and delete of a container running
# `true`, through plain runc and through vkernel-runtime with io.vkernel.module=true (the module
# built for this kernel is in the runtime's cache: a warm cache, as on a node after its first such
# container), ROUNDS rounds, the two taking turns (which goes first alternates). Then PROFILE_ROUNDS
# more of the runtime alone with VKERNEL_PROFILE (src/profile.ts): its phases, one VKPROF line per
# engine process. Lines: VKBENCH cfg=runc|module round=R create=US start=US delete=US.
. /tests/lib.sh
. /tests/bench.env
runtime_required bench.vm
RUNC="runc --root /run/runc-bench"
# shellcheck disable=SC2153 # RT: set by runtime_setup (lib.sh)
VK=$RT

# us CMD...: the wall microseconds of one call, or "error" (its stderr in /tmp/bench.err)
us() {
	_o=$(vkt time-us "$@" 2>/tmp/bench.err)
	case "$_o" in
	"us="*" rc=0") echo "${_o%% *}" | cut -d= -f2 ;;
	*) echo "error ($_o)" ;;
	esac
}
cycle() { # CFG ROUND: one create + start + delete
	case $1 in
	runc) _b="$RUNC" _bundle=truerunc ;;
	module) _b="$VK" _bundle=truemod ;;
	esac
	_id="bench-$1-$2"
	# shellcheck disable=SC2086 # _b: the binary and its --root
	_c=$(us $_b create --no-pivot --bundle /opt/bundles/$_bundle "$_id")
	case $_c in error*) echo "VKBENCH error $1 create: $_c $(tail -c 400 /tmp/bench.err | tr '\n' ' ')" ;; esac
	# shellcheck disable=SC2086
	_s=$(us $_b start "$_id")
	case $_s in error*) echo "VKBENCH error $1 start: $_s $(tail -c 400 /tmp/bench.err | tr '\n' ' ')" ;; esac
	# shellcheck disable=SC2086
	_d=$(us $_b delete --force "$_id")
	case $_d in error*) echo "VKBENCH error $1 delete: $_d $(tail -c 400 /tmp/bench.err | tr '\n' ' ')" ;; esac
	echo "VKBENCH cfg=$1 round=$2 create=$_c start=$_s delete=$_d"
}

# one warm-up each (page cache, the module's first load)
cycle runc 0 >/dev/null
cycle module 0 >/dev/null
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 0 ]; then cycle runc "$r"; cycle module "$r"; else cycle module "$r"; cycle runc "$r"; fi
done
export VKERNEL_PROFILE=/tmp/profile.jsonl
for r in $(seq 1 "$PROFILE_ROUNDS"); do cycle module "p$r" >/dev/null; done
unset VKERNEL_PROFILE
sed 's/^/VKPROF /' /tmp/profile.jsonl 2>/dev/null
left=$(lsmod | grep -c '^vkernel_')
echo "VKBENCH note modules left loaded: $left"
vkend
