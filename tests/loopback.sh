#!/usr/bin/env bash
# sweeplab's software audio loopback for end-to-end device tests on a machine without a sound
# card (Debian 12 "bookworm", running as root, e.g. in a container or CI). Derived from the
# tested recipe shared/recipes/pulseaudio-loopback.sh; used by .ci/run and by
# tests/device_loopback.rs (which run `bash tests/loopback.sh restart ...` and read $LB/env).
#
# A private PulseAudio 16 daemon (started as root in *user* mode, not --system) runs one
# module-null-sink "loop"; its monitor "loop.monitor" is the default source, so whatever is
# played to the default output is recorded from the default input. ALSA's "default" PCM is
# routed to that daemon with libasound2-plugins' "pulse" PCM, so cpal's ALSA host
# (cpal::default_host() without extra features) plays/records through the real audio server.
# Optionally a LADSPA filter and/or a LADSPA delay line is inserted in front of the null sink
# (module-ladspa-sink), giving the loopback a KNOWN frequency response / extra latency.
#
# Everything lives under $LB (default ${TMPDIR:-/tmp}/sweeplab-loopback); nothing is written to
# /etc or $HOME. One daemon per $LB directory.
#
# Usage:
#   loopback.sh install        apt-get install the needed Debian packages (runs apt-get update if
#                              the package lists are empty)
#   loopback.sh start [--filter none|lowpass|highpass] [--fc HZ] [--delay-ms MS]
#                     [--right-volume PCT]   the right channel at PCT % of PulseAudio's
#                              volume (software volume, cubic: a gain of (PCT/100)^3, e.g.
#                              50 % = 0.125 = -18.06 dB), the left at 100 %: two sides that
#                              differ by a KNOWN gain
#   loopback.sh restart [start options]   stop (if running), then start
#   loopback.sh check          play a tone with aplay, record it with arecord (and sox), verify
#   loopback.sh status
#   loopback.sh stop           kill the daemon this script started (by its PID)
#   loopback.sh env            print the path of the env file (fails if not running)
#   loopback.sh expected-gain F   expected gain (dB) of the running chain at F Hz
# Then, in the shell that runs the test program:   . $LB/env
# (On Debian, PULSE_SERVER alone is enough for ALSA clients: /etc/alsa/conf.d/99-pulse.conf
#  makes "default" the pulse PCM whenever a server is reachable. The env file sets more so that
#  nothing is written to $HOME.)
#
# Timing notes (cpal ALSA host, default buffers = 512-frame periods): round trip from the app
# writing a sample to the app receiving it is ~34 ms; the offset of the tone in the capture
# relative to the output's first frame is 0 or +511 samples (start race between the two
# streams, one period), so tests should allow one period or align with callback timestamps.
#
# Filters (2nd-order Butterworth-style biquads from swh-plugins, bilinear transform with
# prewarping, resonance r=1.4 i.e. Q=1/1.4):
#   lowpass : |H(f)|^2 = 1 / ((1-W^2)^2 + r^2 W^2)
#   highpass: |H(f)|^2 = W^4 / ((1-W^2)^2 + r^2 W^2),  W = tan(pi f/fs) / tan(pi fc/fs)
#   (at f = fc both give -20*log10(1.4) = -2.92 dB)
# Delay: cmt "delay_1s" (wet=1): a pure integer delay of trunc(ms*fs/1000) samples, max 1000 ms.
set -euo pipefail

LB=${LB:-${TMPDIR:-/tmp}/sweeplab-loopback}
RATE=48000
SOCK="$LB/run/pulse/native"
PIDFILE="$LB/pulseaudio.pid"
RESONANCE=1.4   # must stay < 1.41: PA rejects 1.41 ("over upper bound") and then the
                # butterworth plugin's cleanup segfaults, killing the whole daemon.

PACKAGES=(pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox swh-plugins cmt
          libasound2-dev pkg-config)

die() { echo "loopback.sh: $*" >&2; exit 1; }

write_env() {
    mkdir -p "$LB/run" "$LB/state" "$LB/xdg/alsa"
    chmod 700 "$LB/run"
    cat > "$LB/env" <<EOF
# source me:  . $LB/env
export XDG_RUNTIME_DIR=$LB/run
export PULSE_RUNTIME_PATH=$LB/run/pulse
export PULSE_STATE_PATH=$LB/state
export PULSE_CONFIG=$LB/daemon.conf
export PULSE_CLIENTCONFIG=$LB/client.conf
export PULSE_COOKIE=$LB/state/cookie
export PULSE_SERVER=unix:$SOCK
# ALSA reads \$XDG_CONFIG_HOME/alsa/asoundrc (alsa-lib >= 1.2.x); this routes "default" to pulse.
export XDG_CONFIG_HOME=$LB/xdg
EOF
    cat > "$LB/daemon.conf" <<EOF
default-sample-format = float32le
default-sample-rate = $RATE
alternate-sample-rate = $RATE
default-sample-channels = 2
avoid-resampling = yes
flat-volumes = no
exit-idle-time = -1
realtime-scheduling = yes
EOF
    cat > "$LB/client.conf" <<EOF
autospawn = no
default-server = unix:$SOCK
cookie-file = $LB/state/cookie
EOF
    cat > "$LB/xdg/alsa/asoundrc" <<EOF
pcm.!default {
    type pulse
    server "unix:$SOCK"
    hint { show on description "PulseAudio software loopback" }
}
ctl.!default {
    type pulse
    server "unix:$SOCK"
}
EOF
}

# The process exists and is not a zombie (a daemon that died right after our fork stays a
# zombie child of this shell until it exits).
alive() {
    [[ -r /proc/$1/stat ]] && [[ $(cut -d' ' -f3 "/proc/$1/stat") != Z ]]
}

running_pid() {
    [[ -f $PIDFILE ]] || return 1
    local pid; pid=$(cat "$PIDFILE")
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "pulseaudio .*--file=$LB/loopback.pa" || return 1
    echo "$pid"
}

cmd_install() {
    if [[ -z $(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true) ]]; then
        apt-get update
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
}

cmd_start() {
    local filter=none fc=1000 delay_ms=0 right_volume=100
    while [[ $# -gt 0 ]]; do
        case $1 in
            --right-volume) right_volume=$2; shift 2;;
            --filter) filter=$2; shift 2;;
            --fc) fc=$2; shift 2;;
            --delay-ms) delay_ms=$2; shift 2;;
            *) die "unknown start option $1";;
        esac
    done
    if pid=$(running_pid); then die "already running (pid $pid); run '$0 stop' first"; fi
    command -v pulseaudio >/dev/null || die "pulseaudio not installed; run '$0 install'"
    write_env
    # shellcheck disable=SC1091
    . "$LB/env"
    rm -rf "$LB/run/pulse"

    local top=loop
    {
        echo ".fail"
        echo "load-module module-native-protocol-unix auth-anonymous=1 socket=$SOCK"
        # norewinds=1 is essential: without it the idle null sink renders 2 s ahead and the
        # monitor source loses/garbles audio when a playback stream connects (rewind).
        echo "load-module module-null-sink sink_name=loop format=float32le rate=$RATE channels=2 norewinds=1 sink_properties=device.description=Loopback"
        echo "set-default-source loop.monitor"
        if [[ $delay_ms != 0 ]]; then
            awk -v d="$delay_ms" 'BEGIN{exit !(d>0 && d<1000)}' || die "--delay-ms must be in (0,1000)"
            # +1e-7 s so that float truncation does not lose a sample (480 -> 479.99998)
            local sec; sec=$(awk -v d="$delay_ms" 'BEGIN{printf "%.7f", d/1000+1e-7}')
            echo "load-module module-ladspa-sink sink_name=delay sink_master=$top plugin=cmt label=delay_1s control=$sec,1 sink_properties=device.description=Delay_${delay_ms}ms"
            top=delay
        fi
        case $filter in
            none) ;;
            lowpass|highpass)
                awk -v f="$fc" -v r="$RATE" 'BEGIN{exit !(f>=0.0001*r && f<=0.45*r)}' \
                    || die "--fc must be within [0.0001, 0.45] * $RATE"
                local label=buttlow_iir; [[ $filter == highpass ]] && label=butthigh_iir
                echo "load-module module-ladspa-sink sink_name=filter sink_master=$top plugin=butterworth_1902 label=$label control=$fc,$RESONANCE sink_properties=device.description=${filter}_${fc}Hz"
                top=filter;;
            *) die "--filter must be none, lowpass or highpass";;
        esac
        echo "set-default-sink $top"
    } > "$LB/loopback.pa"

    # Not --system (that needs a 'pulse' user, D-Bus policy and drops to that user); plain user
    # mode works as root, only printing "This program is not intended to be run as root".
    # --daemonize=no + '&' lets us record the real PID; stop kills exactly that PID.
    pulseaudio -n --file="$LB/loopback.pa" --daemonize=no --use-pid-file=no \
        --exit-idle-time=-1 --disallow-exit --log-target=file:"$LB/pulseaudio.log" -v \
        </dev/null >/dev/null 2>&1 &
    local pid=$! i
    echo "$pid" > "$PIDFILE"
    for i in $(seq 1 100); do
        if pactl info >/dev/null 2>&1; then break; fi
        # Only whether the process still exists: right after the fork its cmdline is still
        # this shell's (running_pid would fail until pulseaudio has exec'd).
        if ! alive "$pid"; then
            [[ -f $LB/pulseaudio.log ]] && tail -20 "$LB/pulseaudio.log" >&2
            rm -f "$PIDFILE"
            die "pulseaudio exited during startup"
        fi
        sleep 0.1
    done
    if ! pactl info >/dev/null 2>&1; then
        kill "$pid" 2>/dev/null || true
        rm -f "$PIDFILE"
        die "pulseaudio did not come up within 10 s; see $LB/pulseaudio.log"
    fi
    if [[ $right_volume != 100 ]]; then
        awk -v v="$right_volume" 'BEGIN{exit !(v>0 && v<=100)}' || die "--right-volume must be in (0,100]"
        pactl set-sink-volume "$(pactl get-default-sink)" 100% "${right_volume}%"
    fi
    echo "pulseaudio pid $(cat "$PIDFILE"), socket $SOCK"
    pactl list short sinks
    pactl info | grep -E '^Default (Sink|Source)'
    echo "now run:  . $LB/env"
}

cmd_status() {
    if pid=$(running_pid); then
        echo "running, pid $pid"
        # shellcheck disable=SC1091
        . "$LB/env"
        pactl info | grep -E '^(Server String|Default)'
        pactl list short sinks
    else
        echo "not running"; return 1
    fi
}

cmd_stop() {
    local pid
    if pid=$(running_pid); then
        kill "$pid"
        for _ in $(seq 1 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
        [[ -d /proc/$pid ]] && { echo "pid $pid did not exit on TERM, sending KILL"; kill -9 "$pid"; }
        echo "stopped pulseaudio pid $pid"
    else
        echo "not running"
    fi
    rm -f "$PIDFILE"
    rm -rf "$LB/run/pulse"
}

# Expected gain (dB) of the configured chain at frequency $1, from the start options in loopback.pa.
expected_gain_db() {
    local f=$1 line label fc
    line=$(grep -o 'label=butt[a-z_]* control=[0-9.]*' "$LB/loopback.pa" || true)
    [[ -z $line ]] && { echo 0; return; }
    label=$(sed 's/label=\([a-z_]*\).*/\1/' <<<"$line"); fc=$(sed 's/.*control=//' <<<"$line")
    awk -v f="$f" -v fc="$fc" -v fs=$RATE -v r=$RESONANCE -v hp=$([[ $label == butthigh_iir ]] && echo 1 || echo 0) '
        function tan(x) { return sin(x)/cos(x) }
        BEGIN { pi=atan2(0,-1); W=tan(pi*f/fs)/tan(pi*fc/fs); d=(1-W*W)^2+r*r*W*W;
                g2 = hp ? W^4/d : 1/d; printf "%.3f\n", 10*log(g2)/log(10) }'
}

cmd_check() {
    running_pid >/dev/null || die "not running"
    # shellcheck disable=SC1091
    . "$LB/env"
    local d="$LB/check" f=1000 exp rms ok=0 rp
    mkdir -p "$d"
    # expected steady-state RMS: -12 dBFS peak sine = -15.05 dBFS RMS, plus the filter gain at f
    exp=$(awk -v g="$(expected_gain_db $f)" 'BEGIN{printf "%.2f", -12-3.0103+g}')
    # 0.5 s silence + 2 s 1 kHz sine at -12 dBFS peak, 48 kHz stereo float
    sox -n -r $RATE -c 2 -e floating-point -b 32 "$d/tone.wav" synth 0.5 sine $f vol 0 : synth 2 sine $f vol -12dB
    for tool in alsa-utils sox; do
        if [[ $tool == alsa-utils ]]; then
            echo "-- aplay -> arecord (ALSA 'default' -> pulse plugin -> null sink -> monitor)"
            arecord -q -D default -f FLOAT_LE -r $RATE -c 2 -d 4 "$d/$tool.wav" & rp=$!
            sleep 0.5
            aplay -q -D default "$d/tone.wav"
        else
            echo "-- sox -t alsa default (play) -> sox -t alsa default (record)"
            sox -q -t alsa default -r $RATE -c 2 -e floating-point -b 32 "$d/$tool.wav" trim 0 4 & rp=$!
            sleep 0.5
            sox -q "$d/tone.wav" -t alsa default
        fi
        wait $rp
        # tone occupies ~1.0..3.0 s of the capture; measure the steady-state middle second
        rms=$(sox "$d/$tool.wav" -n trim 1.5 1.0 stats 2>&1 | awk '/^RMS lev dB/{print $4}')
        echo "   silence (first 0.3 s) RMS: $(sox "$d/$tool.wav" -n trim 0 0.3 stats 2>&1 | awk '/^RMS lev dB/{print $4}') dBFS"
        if awk -v p="$rms" -v e="$exp" 'BEGIN{exit !((p-e)<0.05 && (e-p)<0.05)}'; then
            echo "OK $tool: tone RMS $rms dBFS (expected $exp)"
        else
            echo "FAIL $tool: tone RMS $rms dBFS, expected $exp"; ok=1
        fi
    done
    return $ok
}

cmd_env() {
    running_pid >/dev/null || die "not running (LB=$LB)"
    echo "$LB/env"
}

case ${1:-} in
    install) cmd_install;;
    start) shift; cmd_start "$@";;
    restart) shift; cmd_stop >/dev/null; cmd_start "$@";;
    env) cmd_env;;
    stop) cmd_stop;;
    status) cmd_status;;
    check) cmd_check;;
    expected-gain) expected_gain_db "${2:?freq}";;
    *) sed -n '2,33p' "$0"; exit 2;;
esac
