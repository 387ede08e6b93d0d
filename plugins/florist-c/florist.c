// Fiori: a flower stall that takes orders in chat.
//
// The C example shop for Bottega plugin authors: bindings from `wit-bindgen c`,
// compiled with clang for wasm32-wasi and made a component by `wasm-tools
// component new` (see the Makefile). It greets, lists sections, shows product
// cards, fills the basket, prices "12 stems or more of one flower: 10% off
// that line" through the pricing hook, and asks the host to check out.
//
// Memory: what an export returns is freed by the bindings after the host has
// read it, so every string in a reply is a heap copy (`dup`); what an export
// receives and what an import returns belong to this code, which frees it.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shop.h"

typedef bottega_shop_types_reply_t reply_t;
typedef exports_bottega_shop_bot_list_reply_t replies_t;

// Lines of one flower from which the line gets the bouquet discount.
#define BOUQUET_STEMS 12
#define BOUQUET_PERCENT 10

// --- small helpers ----------------------------------------------------------

static shop_string_t dup(const char *text) {
  shop_string_t s;
  shop_string_dup(&s, text);
  return s;
}

static shop_string_t dup_n(const shop_string_t *text) {
  shop_string_t s;
  shop_string_dup_n(&s, (const char *)text->ptr, text->len);
  return s;
}

// A NUL-terminated copy of a WIT string (for comparisons and printf).
static char *cstr(const shop_string_t *s) {
  char *out = malloc(s->len + 1);
  memcpy(out, s->ptr, s->len);
  out[s->len] = '\0';
  return out;
}

static bool starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

static reply_t *push(replies_t *replies) {
  replies->ptr = realloc(replies->ptr, (replies->len + 1) * sizeof(reply_t));
  reply_t *reply = &replies->ptr[replies->len++];
  memset(reply, 0, sizeof(*reply));
  return reply;
}

static void say(replies_t *replies, const char *text) {
  reply_t *reply = push(replies);
  reply->tag = BOTTEGA_SHOP_TYPES_REPLY_TEXT;
  reply->val.text = dup(text);
}

// A message with up to three buttons: ids and titles in pairs.
static void buttons(replies_t *replies, const char *body, size_t count, const char *pairs[][2]) {
  reply_t *reply = push(replies);
  reply->tag = BOTTEGA_SHOP_TYPES_REPLY_BUTTONS;
  reply->val.buttons.body = dup(body);
  reply->val.buttons.buttons.ptr = calloc(count, sizeof(bottega_shop_types_reply_button_t));
  reply->val.buttons.buttons.len = count;
  for (size_t i = 0; i < count; i++) {
    reply->val.buttons.buttons.ptr[i].id = dup(pairs[i][0]);
    reply->val.buttons.buttons.ptr[i].title = dup(pairs[i][1]);
  }
}

static void main_menu(replies_t *replies, const char *body) {
  const char *pairs[][2] = {{"browse", "See the flowers"}, {"cart", "My basket"}};
  buttons(replies, body, 2, pairs);
}

static void basket_actions(replies_t *replies) {
  const char *pairs[][2] = {{"checkout", "Check out"}, {"browse", "Keep browsing"}, {"cart", "My basket"}};
  buttons(replies, "Anything else?", 3, pairs);
}

// --- the shop -----------------------------------------------------------------

static void show_sections(replies_t *replies) {
  shop_list_string_t sections;
  bottega_shop_catalog_list_sections(&sections);
  if (sections.len == 0) {
    say(replies, "The stall is empty right now: fresh flowers arrive in the morning.");
    shop_list_string_free(&sections);
    return;
  }
  size_t count = sections.len < 10 ? sections.len : 10;
  reply_t *reply = push(replies);
  reply->tag = BOTTEGA_SHOP_TYPES_REPLY_CHOICE_LIST;
  reply->val.choice_list.body = dup("Fresh today. Pick a section:");
  reply->val.choice_list.button_label = dup("Sections");
  reply->val.choice_list.rows.ptr = calloc(count, sizeof(bottega_shop_types_list_row_t));
  reply->val.choice_list.rows.len = count;
  for (size_t i = 0; i < count; i++) {
    char *name = cstr(&sections.ptr[i]);
    char id[128];
    snprintf(id, sizeof id, "section:%s", name);
    reply->val.choice_list.rows.ptr[i].id = dup(id);
    reply->val.choice_list.rows.ptr[i].title = dup_n(&sections.ptr[i]);
    reply->val.choice_list.rows.ptr[i].description.is_some = false;
    free(name);
  }
  shop_list_string_free(&sections);
}

// Product cards for the available products among `products` (freed here).
static void product_cards(replies_t *replies, const char *header, const char *body,
                          bottega_shop_catalog_list_product_t *products) {
  size_t available = 0;
  for (size_t i = 0; i < products->len; i++) available += products->ptr[i].available;
  if (available == 0) {
    bottega_shop_catalog_list_product_free(products);
    main_menu(replies, "None of those are in bloom right now, sorry. What next?");
    return;
  }
  reply_t *reply = push(replies);
  reply->tag = BOTTEGA_SHOP_TYPES_REPLY_PRODUCT_LIST;
  reply->val.product_list.header = dup(header);
  reply->val.product_list.body = dup(body);
  reply->val.product_list.product_ids.ptr = calloc(available, sizeof(shop_string_t));
  for (size_t i = 0; i < products->len; i++) {
    if (products->ptr[i].available) {
      shop_list_string_t *ids = &reply->val.product_list.product_ids;
      ids->ptr[ids->len++] = dup_n(&products->ptr[i].id);
    }
  }
  bottega_shop_catalog_list_product_free(products);
}

static void show_section(replies_t *replies, const shop_string_t *section) {
  bottega_shop_catalog_list_product_t products;
  shop_string_t name = *section;
  bottega_shop_catalog_list_products(&name, 0, 10, &products);
  char *header = cstr(section);
  product_cards(replies, header, "Tap a flower to add it to your basket.", &products);
  free(header);
}

static void search(replies_t *replies, const char *words) {
  bottega_shop_catalog_list_product_t products;
  shop_string_t query;
  shop_string_set(&query, words);
  bottega_shop_catalog_search_products(&query, 10, &products);
  product_cards(replies, "Found", "Here is what we have:", &products);
}

static void show_product(replies_t *replies, const shop_string_t *id) {
  bottega_shop_catalog_product_t product;
  shop_string_t wanted = *id;
  if (!bottega_shop_catalog_get_product(&wanted, &product) || !product.available) {
    main_menu(replies, "That one is sold out, sorry. What next?");
    return;
  }
  reply_t *card = push(replies);
  card->tag = BOTTEGA_SHOP_TYPES_REPLY_PRODUCT;
  card->val.product = dup_n(&product.id);
  char *product_id = cstr(&product.id);
  char add[160];
  snprintf(add, sizeof add, "add:%s", product_id);
  const char *pairs[][2] = {{add, "Add a stem"}, {"browse", "Keep browsing"}, {"cart", "My basket"}};
  buttons(replies, "Would you like some? Each tap adds one stem.", 3, pairs);
  free(product_id);
  bottega_shop_catalog_product_free(&product);
}

static void add_to_basket(replies_t *replies, const char *product_id) {
  bottega_shop_cart_cart_t cart;
  bottega_shop_cart_cart_error_t error;
  shop_string_t id;
  shop_string_set(&id, product_id);
  if (!bottega_shop_cart_add_item(&id, 1, &cart, &error)) {
    const char *why = error == BOTTEGA_SHOP_CART_CART_ERROR_INSUFFICIENT_STOCK ? "We don't have that many stems, sorry."
                      : error == BOTTEGA_SHOP_CART_CART_ERROR_CART_FULL       ? "Your basket is full: check out first."
                                                                              : "That one is sold out, sorry.";
    say(replies, why);
    main_menu(replies, "What next?");
    return;
  }
  uint32_t stems = 0;
  for (size_t i = 0; i < cart.lines.len; i++) stems += cart.lines.ptr[i].quantity;
  char text[128];
  snprintf(text, sizeof text, "Added. Your basket has %u stems.", stems);
  say(replies, text);
  basket_actions(replies);
  bottega_shop_cart_cart_free(&cart);
}

static void show_basket(replies_t *replies, bool checkout) {
  bottega_shop_cart_cart_t cart;
  bottega_shop_cart_get(&cart);
  bool empty = cart.lines.len == 0;
  bottega_shop_cart_cart_free(&cart);
  if (empty) {
    main_menu(replies, "Your basket is empty. What would you like?");
    return;
  }
  if (checkout) {
    say(replies, "Here is your order to pay for:");
    push(replies)->tag = BOTTEGA_SHOP_TYPES_REPLY_CHECKOUT;
  } else {
    push(replies)->tag = BOTTEGA_SHOP_TYPES_REPLY_CART_SUMMARY;
    basket_actions(replies);
  }
}

static void greet(replies_t *replies) {
  const char *pairs[][2] = {{"browse", "See the flowers"}, {"cart", "My basket"}, {"agent", "Talk to a person"}};
  buttons(replies, "Welcome to Fiori! Fresh flowers by the stem: a dozen or more of one kind gets 10% off.", 3, pairs);
}

static void ask_for_person(replies_t *replies) {
  say(replies, "Of course, our florist will answer here shortly.");
  reply_t *reply = push(replies);
  reply->tag = BOTTEGA_SHOP_TYPES_REPLY_HUMAN_AGENT;
  reply->val.human_agent = dup("customer asked for a person");
}

static void on_text(replies_t *replies, const char *text) {
  char words[256];
  size_t n = 0;
  for (const char *c = text; *c && n + 1 < sizeof words; c++) {
    words[n++] = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
  }
  words[n] = '\0';
  if (!strcmp(words, "hi") || !strcmp(words, "hello") || !strcmp(words, "start")) greet(replies);
  else if (!strcmp(words, "menu") || !strcmp(words, "browse")) show_sections(replies);
  else if (!strcmp(words, "cart") || !strcmp(words, "basket")) show_basket(replies, false);
  else if (!strcmp(words, "checkout") || !strcmp(words, "pay")) show_basket(replies, true);
  else if (!strcmp(words, "agent") || !strcmp(words, "help")) ask_for_person(replies);
  else search(replies, words);
}

static void on_choice(replies_t *replies, const char *id) {
  if (starts_with(id, "section:")) {
    shop_string_t section;
    shop_string_set(&section, id + strlen("section:"));
    show_section(replies, &section);
  } else if (starts_with(id, "add:")) {
    add_to_basket(replies, id + strlen("add:"));
  } else if (!strcmp(id, "browse")) {
    show_sections(replies);
  } else if (!strcmp(id, "cart")) {
    show_basket(replies, false);
  } else if (!strcmp(id, "checkout")) {
    show_basket(replies, true);
  } else if (!strcmp(id, "agent")) {
    ask_for_person(replies);
  } else {
    greet(replies);
  }
}

// --- exports --------------------------------------------------------------------

void exports_bottega_shop_bot_handle_message(exports_bottega_shop_bot_conversation_context_t *context,
                                             exports_bottega_shop_bot_inbound_message_t *message, replies_t *ret) {
  ret->ptr = NULL;
  ret->len = 0;
  switch (message->tag) {
    case BOTTEGA_SHOP_TYPES_INBOUND_MESSAGE_TEXT: {
      char *text = cstr(&message->val.text);
      on_text(ret, text);
      free(text);
      break;
    }
    case BOTTEGA_SHOP_TYPES_INBOUND_MESSAGE_CHOICE: {
      char *id = cstr(&message->val.choice.id);
      on_choice(ret, id);
      free(id);
      break;
    }
    case BOTTEGA_SHOP_TYPES_INBOUND_MESSAGE_PRODUCT_TAP:
      show_product(ret, &message->val.product_tap);
      break;
    default:
      show_basket(ret, false);
      break;
  }
  exports_bottega_shop_bot_conversation_context_free(context);
  exports_bottega_shop_bot_inbound_message_free(message);
}

void exports_bottega_shop_bot_handle_event(exports_bottega_shop_bot_conversation_context_t *context,
                                           exports_bottega_shop_bot_shop_event_t *event, replies_t *ret) {
  ret->ptr = NULL;
  ret->len = 0;
  char text[256];
  switch (event->tag) {
    case BOTTEGA_SHOP_TYPES_SHOP_EVENT_ORDER_PAID: {
      char *order = cstr(&event->val.order_paid.order_id);
      snprintf(text, sizeof text, "Paid, thank you! We're tying up order %s now.", order);
      free(order);
      break;
    }
    case BOTTEGA_SHOP_TYPES_SHOP_EVENT_PAYMENT_FAILED: {
      char *order = cstr(&event->val.payment_failed.order_id);
      snprintf(text, sizeof text, "The payment for order %s didn't go through. You can try again from the same link.", order);
      free(order);
      break;
    }
    case BOTTEGA_SHOP_TYPES_SHOP_EVENT_ORDER_SHIPPED: {
      char *order = cstr(&event->val.order_shipped.order_id);
      snprintf(text, sizeof text, "Order %s is on its way!", order);
      free(order);
      break;
    }
    default:
      snprintf(text, sizeof text, "I'm back! Say \"menu\" to see the flowers.");
      break;
  }
  say(ret, text);
  exports_bottega_shop_bot_conversation_context_free(context);
  exports_bottega_shop_bot_shop_event_free(event);
}

void exports_bottega_shop_storefront_present_catalog(exports_bottega_shop_storefront_conversation_context_t *context,
                                                     exports_bottega_shop_storefront_catalog_query_t *query,
                                                     exports_bottega_shop_storefront_list_reply_t *ret) {
  replies_t replies = {NULL, 0};
  if (query->text.is_some) {
    char *words = cstr(&query->text.val);
    search(&replies, words);
    free(words);
  } else if (query->section.is_some) {
    show_section(&replies, &query->section.val);
  } else {
    show_sections(&replies);
  }
  ret->ptr = replies.ptr;
  ret->len = replies.len;
  exports_bottega_shop_storefront_conversation_context_free(context);
  exports_bottega_shop_storefront_catalog_query_free(query);
}

// 10% off every line of 12 stems or more.
void exports_bottega_shop_storefront_price_cart(exports_bottega_shop_storefront_conversation_context_t *context,
                                                exports_bottega_shop_storefront_cart_t *cart,
                                                exports_bottega_shop_storefront_list_discount_line_t *ret) {
  ret->ptr = calloc(cart->lines.len ? cart->lines.len : 1, sizeof(bottega_shop_types_discount_line_t));
  ret->len = 0;
  for (size_t i = 0; i < cart->lines.len; i++) {
    bottega_shop_types_cart_line_t *line = &cart->lines.ptr[i];
    int64_t amount = line->line_total.amount_minor * BOUQUET_PERCENT / 100;
    if (line->quantity < BOUQUET_STEMS || amount <= 0) continue;
    bottega_shop_types_discount_line_t *discount = &ret->ptr[ret->len++];
    char *name = cstr(&line->name);
    char label[160];
    snprintf(label, sizeof label, "Bouquet: %d%% off %s", BOUQUET_PERCENT, name);
    free(name);
    discount->label = dup(label);
    discount->amount_minor = amount;
    discount->product_ids.ptr = calloc(1, sizeof(shop_string_t));
    discount->product_ids.ptr[0] = dup_n(&line->product_id);
    discount->product_ids.len = 1;
  }
  exports_bottega_shop_storefront_conversation_context_free(context);
  exports_bottega_shop_storefront_cart_free(cart);
}
