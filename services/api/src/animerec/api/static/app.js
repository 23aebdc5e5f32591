// Progressive enhancement of the server-rendered page: "show me others" without a reload,
// like/dislike/click feedback, and a placeholder for covers that fail to load.
(function () {
  "use strict";
  const app = document.getElementById("app");
  if (!app) return;
  const cardsBox = document.getElementById("cards");
  const message = document.getElementById("message");
  const template = document.getElementById("card-template");
  const top = Number(app.dataset.top || 20);
  const count = Number(app.dataset.cards || 5);
  const PLACEHOLDER = "/static/cover.svg";

  function say(text, kind) {
    message.hidden = !text;
    message.textContent = text || "";
    message.className = "message" + (kind ? " " + kind : "");
  }

  function fill(item, position) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.animeId = String(item.anime_id);
    node.dataset.position = String(position);
    node.querySelectorAll("a").forEach(function (a) { a.href = item.url; });
    const img = node.querySelector("img");
    img.src = item.picture || PLACEHOLDER;
    node.querySelector(".title a").textContent = item.title || "Anime #" + item.anime_id;
    const meta = node.querySelector(".meta");
    meta.textContent = "";
    if (item.score !== null && item.score !== undefined) {
      const s = document.createElement("span");
      s.className = "score";
      s.title = "MyAnimeList score";
      s.textContent = "\u2605 " + Number(item.score).toFixed(2);
      meta.appendChild(s);
    }
    if (item.type) {
      const t = document.createElement("span");
      t.className = "type";
      t.textContent = item.type;
      meta.appendChild(t);
    }
    node.querySelector(".genres").textContent = (item.genres || []).slice(0, 4).join(" \u00b7 ");
    const reason = node.querySelector(".reason");
    if (item.reason) {
      const p = reason || document.createElement("p");
      p.className = "reason";
      p.textContent = item.reason;
      if (!reason) node.querySelector(".genres").after(p);
    } else if (reason) {
      reason.remove();
    }
    return node;
  }

  function personal(source) { return source === "model" || source === "fold_in"; }

  function show(body) {
    app.dataset.version = body.version || "";
    app.dataset.token = body.feedback_token || "";
    app.dataset.crawl = body.crawl || "";
    cardsBox.replaceChildren.apply(cardsBox, body.items.map(fill));
    say(body.message, personal(body.source) ? "" : "notice");
    const head = document.querySelector(".results-head h2");
    if (head && personal(body.source)) head.textContent = "Picked for " + body.user;
  }

  // While the user's MyAnimeList profile is being fetched, ask again every second: the personal list
  // replaces the fallback as soon as it exists, without a reload.
  async function poll(tries) {
    const crawl = app.dataset.crawl;
    if (!app.dataset.user || (crawl !== "requested" && crawl !== "pending") || tries <= 0) return;
    await new Promise(function (resolve) { setTimeout(resolve, 1000); });
    try {
      const url = "/v1/users/" + encodeURIComponent(app.dataset.user) + "/recommendations?n=" + top + "&sample=" +
        count + (app.dataset.filters ? "&" + app.dataset.filters : "");
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const body = await response.json();
        if (body.crawl !== "requested" && body.crawl !== "pending") { show(body); return; }
      }
    } catch (err) { /* the next try may work */ }
    poll(tries - 1);
  }

  async function others(event) {
    const user = app.dataset.user;
    if (!user) return;
    event.preventDefault();
    const button = event.submitter || document.getElementById("others");
    button.disabled = true;
    try {
      const url = "/v1/users/" + encodeURIComponent(user) + "/recommendations?n=" + top + "&sample=" + count +
        (app.dataset.filters ? "&" + app.dataset.filters : "");
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json().catch(function () { return null; });
      if (!response.ok || !body) {
        say((body && body.error && body.error.message) || "Something went wrong; please try again.", "error");
        return;
      }
      show(body);
    } catch (err) {
      say("We could not reach animerec; check your connection and try again.", "error");
    } finally {
      button.disabled = false;
    }
  }

  function feedback(card, action, keepalive) {
    const context = { surface: "web", position: Number(card.dataset.position || 0) };
    if (app.dataset.version) context.model_version = app.dataset.version.slice(0, 64);
    const body = { user: app.dataset.user, anime_id: Number(card.dataset.animeId), action: action, context: context };
    if (app.dataset.token) body.token = app.dataset.token;
    return fetch("/v1/feedback", {
      method: "POST",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    });
  }

  document.addEventListener("click", async function (event) {
    const card = event.target.closest && event.target.closest(".card");
    if (!card || !app.dataset.user) return;
    const button = event.target.closest("button[data-action]");
    if (!button) {
      if (event.target.closest("a")) feedback(card, "click", true).catch(function () {});
      return;
    }
    const action = button.dataset.action;
    card.querySelectorAll("button[data-action]").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    try {
      const response = await feedback(card, action, false);
      if (!response.ok) throw new Error(String(response.status));
      button.setAttribute("aria-pressed", "true");
      if (action === "dislike") card.classList.add("hidden-by-user");
      say(action === "like" ? "Thanks! We'll show you more like this." : "Got it: we won't show it again.", "");
    } catch (err) {
      say("Your feedback could not be saved right now; please try again.", "error");
    }
  });

  const othersForm = document.querySelector("form.others");
  if (othersForm) othersForm.addEventListener("submit", others);
  poll(30);

  // Covers come from another host; when one cannot load, show the placeholder instead of a broken image.
  document.addEventListener("error", function (event) {
    const img = event.target;
    if (img && img.tagName === "IMG" && !img.src.endsWith(PLACEHOLDER)) img.src = PLACEHOLDER;
  }, true);
})();
// Images that failed before this script ran.
document.querySelectorAll("#cards img").forEach(function (img) {
  if (img.complete && img.naturalWidth === 0 && !img.src.endsWith("/static/cover.svg")) img.src = "/static/cover.svg";
});
