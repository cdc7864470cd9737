/* SPDX-License-Identifier: GPL-2.0-only */
/* generated from src/oci/flags.ts and src/env.ts by scripts/gen-launcher.ts (npm run build): do not edit */
static const char *const ours_value_flags[] = { "vkernel-set", "vkernel-config", "runc", NULL };
static const char *const ours_flags[] = { "vkernel-set", "vkernel-config", "runc", NULL };
static const char *const set_flags[] = { "vkernel-set", NULL };
static const char *const root_flags[] = { "root", NULL };
static const char *const global_value_flags[] = { "log", "log-format", "criu", "rootless", NULL };
static const char *const help_flags[] = { "help", "h", NULL };
static const char *const version_flags[] = { "version", "v", NULL };
static const char *const true_words[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
static const char *const bundle_flags[] = { "bundle", "b", NULL };
static const char *const create_value_flags[] = { "console-socket", "pidfd-socket", "pid-file", "preserve-fds", NULL };
static const char *const start_value_flags[] = { NULL };
static const char *const delete_value_flags[] = { NULL };
static const char *const compared_variables[] = { "VKERNEL_CGROUP_ROOT", "VKERNEL_LOCK_DIR", "VKERNEL_RUN_BUNDLES", "VKERNEL_ROOTS_DIR", "VKERNEL_CACHE", "VKERNEL_KERNEL_BUILD", "VKERNEL_MODULE_SOURCE", "VKERNEL_RUNTIME_HOME", "VKERNEL_MAKE", "VKERNEL_FUTEX_BUCKETS", "VKERNEL_RMMOD_TIMEOUT_MS", "VKERNEL_RUNC", "VKERNEL_RUNTIME_CONFIG", "VKERNEL_RUNTIME_TEST_FAULT", "VKERNEL_PROFILE", "VKERNEL_SCX_LOADER", "VKERNEL_ENGINE_SOCKET", "VKERNEL_ENGINE_IDLE_MS", "PATH", NULL };
static const char *const hook_stages[] = { "createRuntime", "prestart", "poststop", NULL };
