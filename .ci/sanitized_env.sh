# Sourced by .ci/sanitize and .ci/fuzz: one ASan+UBSan build of audiocore, shared by
# the sanitized test suite and the fuzzer, and the environment to run it in.
#
#   sanitized_build PYTHON ROOT    sets SAN_MODE, SAN_VENV, SAN_PRELOAD, then builds
#   sanitized_env                  exports LD_PRELOAD, PYTHONMALLOC, ASAN/UBSAN_OPTIONS
#
# clang, when it has its ASan and libFuzzer runtimes (Debian: clang, libclang-rt-dev),
# builds with -fsanitize=address,undefined,fuzzer-no-link: libFuzzer then sees
# coverage inside the C kernels. Its ASan runtime must be loaded first in the
# process, and atheris's wheel ships libFuzzer without one, so both runtimes are
# linked into one preloadable library (asan_with_fuzzer.so); atheris uses the
# libFuzzer it finds preloaded. The counters cost nothing when no fuzzer runs.
# Otherwise gcc builds -fsanitize=address,undefined and gcc's libasan is preloaded.
# That is enough for the test suite, but not for guided fuzzing: libasan's empty
# coverage callbacks shadow libFuzzer's, so the fuzzer gets no coverage at all and
# only feeds random inputs (still checked by the sanitizers and oracles).
# AUDIOCORE_SANITIZE_CC=gcc forces gcc.

sanitized_build() {
  local python=$1 root=$2 rtdir="" cc=${AUDIOCORE_SANITIZE_CC:-}
  if [ -z "$cc" ] && ! command -v clang >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "sanitize: installing clang with apt-get"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev \
      >/dev/null 2>&1 || echo "sanitize: no clang; building with gcc" >&2
  fi
  if [ -z "$cc" ] && command -v clang >/dev/null 2>&1; then
    rtdir=$(dirname "$(clang -print-file-name=libclang_rt.asan-x86_64.a)")
    if [ -e "$rtdir/libclang_rt.asan-x86_64.a" ] &&
       [ -e "$rtdir/libclang_rt.fuzzer_no_main-x86_64.a" ]; then
      cc=clang
    fi
  fi
  [ -n "$cc" ] || cc=gcc
  local work="$root/build/sanitize"
  mkdir -p "$work"
  SAN_VENV="$work/venv-$cc"
  local flags
  if [ "$cc" = clang ]; then
    SAN_MODE="clang: ASan+UBSan, native and Python coverage"
    flags=address,undefined,fuzzer-no-link
    SAN_PRELOAD="$work/asan_with_fuzzer.so"
    if [ ! -e "$SAN_PRELOAD" ]; then
      local tmp
      tmp=$(mktemp -d)
      mkdir "$tmp/asan" "$tmp/fuzzer"
      # asan_preinit only works in an executable (.preinit_array); preloading does
      # its job here.
      (cd "$tmp/asan" && ar x "$rtdir/libclang_rt.asan-x86_64.a" && rm -f asan_preinit*.o)
      (cd "$tmp/fuzzer" && ar x "$rtdir/libclang_rt.fuzzer_no_main-x86_64.a")
      clang -shared -o "$SAN_PRELOAD" "$tmp"/asan/*.o "$tmp"/fuzzer/*.o \
        -lstdc++ -lpthread -ldl -lrt -lm
      rm -rf "$tmp"
    fi
  else
    SAN_MODE="gcc: ASan+UBSan, NO coverage guidance (install clang to fuzz properly)"
    flags=address,undefined
    SAN_PRELOAD=$(gcc -print-file-name=libasan.so)
    if [ ! -e "$SAN_PRELOAD" ]; then
      echo "sanitize: gcc has no libasan.so" >&2
      return 1
    fi
  fi
  if [ ! -x "$SAN_VENV/bin/python" ]; then
    "$python" -m venv "$SAN_VENV"
    "$SAN_VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    # Build tools in the venv: rebuilds skip pip's isolated build environment.
    "$SAN_VENV/bin/python" -m pip install -q --disable-pip-version-check \
      "scikit-build-core>=0.10" "cython>=3.0.10"
  fi
  # Its own build directory, so sanitized objects never mix with a normal build.
  CC=$cc "$SAN_VENV/bin/python" -m pip install -q --disable-pip-version-check \
    --no-build-isolation -C cmake.define.AUDIOCORE_SANITIZE=$flags \
    -C build-dir="$work/cmake-$cc-{wheel_tag}" "$root[dev]"
}

sanitized_env() {
  export LD_PRELOAD="$SAN_PRELOAD"
  # Python's own allocations (the bytes objects audiocore writes into, too) go
  # through ASan's malloc, so an overrun hits a red zone, not a pymalloc neighbour.
  export PYTHONMALLOC=malloc
  # No LeakSanitizer: CPython leaves most of its objects allocated at exit, so it
  # would list thousands of the interpreter's; tests/leakcheck.py checks audiocore's.
  # allocator_may_return_null: an impossible request (the suite asks ratecv for
  # ~2**50 bytes) must come back NULL, as from glibc, so the MemoryError path is tested
  # instead of ASan aborting the process.
  export ASAN_OPTIONS=detect_leaks=0:strict_string_checks=1:check_initialization_order=1:allocator_may_return_null=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
}
