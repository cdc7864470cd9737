# shellcheck shell=sh
# Helpers for guest test scripts.
# result NAME COND DETAIL: COND is "0" (pass) or anything else (fail).
result() {
	if [ "$2" = 0 ]; then
		echo "VKTEST $1 PASS $3"
	else
		echo "VKTEST $1 FAIL $3"
	fi
}
# check NAME DETAIL CMD...: PASS when CMD succeeds.
check() {
	_n=$1
	_d=$2
	shift 2
	if "$@" >/dev/null 2>&1; then
		echo "VKTEST $_n PASS $_d"
	else
		echo "VKTEST $_n FAIL $_d"
	fi
}
