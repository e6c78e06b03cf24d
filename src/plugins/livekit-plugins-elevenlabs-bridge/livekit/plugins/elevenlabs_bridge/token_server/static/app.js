// Joins a LiveKit room with the microphone on and plays the agent's audio. The
// page only ever sees a short-lived room token from its own server.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let room = null;

  function setState(state, text) {
    const el = $("state");
    el.dataset.state = state;
    el.textContent = text || state;
  }

  function showError(message) {
    const el = $("error");
    el.textContent = message;
    el.hidden = false;
    setState("error");
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  function setRunning(running) {
    $("start").disabled = running;
    $("stop").disabled = !running;
  }

  function addCaption(segment, speaker) {
    let item = document.querySelector(`#captions li[data-id="${CSS.escape(segment.id)}"]`);
    if (!item) {
      item = document.createElement("li");
      item.dataset.id = segment.id;
      const who = document.createElement("span");
      who.className = "speaker";
      who.textContent = speaker + ":";
      item.append(who, document.createElement("span"));
      $("captions").append(item);
    }
    item.dataset.final = String(Boolean(segment.final));
    item.lastChild.textContent = segment.text;
  }

  async function requestToken(roomName, identity) {
    const query = new URLSearchParams({ room: roomName, identity: identity });
    const response = await fetch(`/api/livekit-token?${query}`, { cache: "no-store" });
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      throw new Error(`token server answered ${response.status} without JSON`);
    }
    if (!response.ok) {
      throw new Error(body && body.error ? body.error : `token server answered ${response.status}`);
    }
    return body;
  }

  async function start(event) {
    event.preventDefault();
    clearError();
    if (typeof LivekitClient === "undefined") {
      showError("The LiveKit client library did not load (see the token server's log).");
      return;
    }
    const { Room, RoomEvent, Track } = LivekitClient;
    setRunning(true);
    let target = "the LiveKit server";
    try {
      setState("requesting", "requesting a token");
      const { token, url } = await requestToken($("room").value, $("identity").value);
      room = new Room();
      room.on(RoomEvent.TrackSubscribed, (track) => {
        if (track.kind === Track.Kind.Audio) {
          $("audio").append(track.attach());
        }
      });
      room.on(RoomEvent.TranscriptionReceived, (segments, participant) => {
        const speaker = participant ? (participant.name || participant.identity) : "agent";
        for (const segment of segments) addCaption(segment, speaker);
      });
      room.on(RoomEvent.Disconnected, () => {
        if ($("state").dataset.state !== "error") setState("disconnected");
        setRunning(false);
      });
      target = url;
      setState("connecting", `connecting to ${url}`);
      await room.connect(url, token);
      setState("connected");
      await room.localParticipant.setMicrophoneEnabled(true);
    } catch (e) {
      const reason = e && e.message ? e.message : String(e);
      showError(`Could not connect to ${target}: ${reason}`);
      if (room) await room.disconnect();
      room = null;
      setRunning(false);
    }
  }

  async function stop() {
    if (room) await room.disconnect();
    room = null;
    setState("idle");
    setRunning(false);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("join").addEventListener("submit", start);
    $("stop").addEventListener("click", stop);
  });
})();
