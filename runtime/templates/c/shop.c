// A starter Bottega shop: greets, searches the catalog, shows the basket.
// What an export returns is freed by the bindings, so reply strings are copies.
#include <stdlib.h>
#include <string.h>

#include "shop.h"

typedef bottega_shop_types_reply_t reply_t;

static reply_t *one_reply(reply_t **list, size_t *len) {
  *list = realloc(*list, (*len + 1) * sizeof(reply_t));
  reply_t *reply = &(*list)[(*len)++];
  memset(reply, 0, sizeof(*reply));
  return reply;
}

static void text(reply_t **list, size_t *len, const char *body) {
  reply_t *reply = one_reply(list, len);
  reply->tag = BOTTEGA_SHOP_TYPES_REPLY_TEXT;
  shop_string_dup(&reply->val.text, body);
}

static void search(reply_t **list, size_t *len, shop_string_t *query) {
  bottega_shop_catalog_list_product_t found;
  bottega_shop_catalog_search_products(query, 10, &found);
  if (found.len == 0) {
    text(list, len, "Nothing found, sorry.");
  } else {
    reply_t *reply = one_reply(list, len);
    reply->tag = BOTTEGA_SHOP_TYPES_REPLY_PRODUCT_LIST;
    shop_string_dup(&reply->val.product_list.header, "Found");
    shop_string_dup(&reply->val.product_list.body, "Tap one:");
    reply->val.product_list.product_ids.ptr = calloc(found.len, sizeof(shop_string_t));
    reply->val.product_list.product_ids.len = found.len;
    for (size_t i = 0; i < found.len; i++) {
      shop_string_dup_n(&reply->val.product_list.product_ids.ptr[i], (const char *)found.ptr[i].id.ptr,
                        found.ptr[i].id.len);
    }
  }
  bottega_shop_catalog_list_product_free(&found);
}

void exports_bottega_shop_bot_handle_message(exports_bottega_shop_bot_conversation_context_t *context,
                                             exports_bottega_shop_bot_inbound_message_t *message,
                                             exports_bottega_shop_bot_list_reply_t *ret) {
  ret->ptr = NULL;
  ret->len = 0;
  if (message->tag == BOTTEGA_SHOP_TYPES_INBOUND_MESSAGE_CHOICE && message->val.choice.id.len > 4 &&
      memcmp(message->val.choice.id.ptr, "add:", 4) == 0) {
    shop_string_t id = {message->val.choice.id.ptr + 4, message->val.choice.id.len - 4};
    bottega_shop_cart_cart_t cart;
    bottega_shop_cart_cart_error_t error;
    if (bottega_shop_cart_add_item(&id, 1, &cart, &error)) {
      bottega_shop_cart_cart_free(&cart);
      one_reply(&ret->ptr, &ret->len)->tag = BOTTEGA_SHOP_TYPES_REPLY_CART_SUMMARY;
    } else {
      text(&ret->ptr, &ret->len, "Sorry, that one is sold out.");
    }
  } else if (message->tag == BOTTEGA_SHOP_TYPES_INBOUND_MESSAGE_PRODUCT_TAP) {
    shop_string_t *id = &message->val.product_tap;
    reply_t *card = one_reply(&ret->ptr, &ret->len);
    card->tag = BOTTEGA_SHOP_TYPES_REPLY_PRODUCT;
    shop_string_dup_n(&card->val.product, (const char *)id->ptr, id->len);
    reply_t *ask = one_reply(&ret->ptr, &ret->len);
    ask->tag = BOTTEGA_SHOP_TYPES_REPLY_BUTTONS;
    shop_string_dup(&ask->val.buttons.body, "Add it to your basket?");
    ask->val.buttons.buttons.ptr = calloc(1, sizeof(bottega_shop_types_reply_button_t));
    ask->val.buttons.buttons.len = 1;
    char *button_id = calloc(id->len + 5, 1);
    memcpy(button_id, "add:", 4);
    memcpy(button_id + 4, id->ptr, id->len);
    shop_string_dup(&ask->val.buttons.buttons.ptr[0].id, button_id);
    shop_string_dup(&ask->val.buttons.buttons.ptr[0].title, "Add");
    free(button_id);
  } else if (message->tag == BOTTEGA_SHOP_TYPES_INBOUND_MESSAGE_TEXT &&
             !(message->val.text.len == 2 && memcmp(message->val.text.ptr, "hi", 2) == 0)) {
    search(&ret->ptr, &ret->len, &message->val.text);
  } else {
    text(&ret->ptr, &ret->len, "Welcome! Tell me what you are looking for.");
  }
  exports_bottega_shop_bot_conversation_context_free(context);
  exports_bottega_shop_bot_inbound_message_free(message);
}

void exports_bottega_shop_bot_handle_event(exports_bottega_shop_bot_conversation_context_t *context,
                                           exports_bottega_shop_bot_shop_event_t *event,
                                           exports_bottega_shop_bot_list_reply_t *ret) {
  ret->ptr = NULL;
  ret->len = 0;
  text(&ret->ptr, &ret->len, "Thank you for your order!");
  exports_bottega_shop_bot_conversation_context_free(context);
  exports_bottega_shop_bot_shop_event_free(event);
}

void exports_bottega_shop_storefront_present_catalog(exports_bottega_shop_storefront_conversation_context_t *context,
                                                     exports_bottega_shop_storefront_catalog_query_t *query,
                                                     exports_bottega_shop_storefront_list_reply_t *ret) {
  ret->ptr = NULL;
  ret->len = 0;
  shop_string_t everything = {(uint8_t *)"", 0};
  search(&ret->ptr, &ret->len, query->text.is_some ? &query->text.val : &everything);
  exports_bottega_shop_storefront_conversation_context_free(context);
  exports_bottega_shop_storefront_catalog_query_free(query);
}

void exports_bottega_shop_storefront_price_cart(exports_bottega_shop_storefront_conversation_context_t *context,
                                                exports_bottega_shop_storefront_cart_t *cart,
                                                exports_bottega_shop_storefront_list_discount_line_t *ret) {
  ret->ptr = NULL;
  ret->len = 0;
  exports_bottega_shop_storefront_conversation_context_free(context);
  exports_bottega_shop_storefront_cart_free(cart);
}
