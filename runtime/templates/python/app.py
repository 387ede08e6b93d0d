"""A starter Bottega shop: greets, searches the catalog, shows the basket."""

from typing import List

from wit_world import exports
from wit_world.imports import cart, catalog, types


class Bot(exports.Bot):
    def handle_message(self, context: types.ConversationContext, message: types.InboundMessage) -> List[types.Reply]:
        if isinstance(message, types.InboundMessage_Choice) and message.value.id.startswith("add:"):
            try:
                cart.add_item(message.value.id[4:], 1)
            except Exception:
                return [types.Reply_Text("Sorry, that one is sold out.")]
            return [types.Reply_CartSummary()]
        if isinstance(message, types.InboundMessage_ProductTap):
            return [types.Reply_Product(message.value), types.Reply_Buttons(types.ButtonsReply(
                body="Add it to your basket?", buttons=[types.ReplyButton(id=f"add:{message.value}", title="Add")]))]
        if isinstance(message, types.InboundMessage_Text) and message.value.strip().lower() not in ("hi", "hello"):
            return Storefront().present_catalog(context, types.CatalogQuery(text=message.value, section=None))
        return [types.Reply_Text("Welcome! Tell me what you are looking for.")]

    def handle_event(self, context: types.ConversationContext, event: types.ShopEvent) -> List[types.Reply]:
        return [types.Reply_Text("Thank you for your order!")]


class Storefront(exports.Storefront):
    def present_catalog(self, context: types.ConversationContext, query: types.CatalogQuery) -> List[types.Reply]:
        products = catalog.search_products(query.text or "", 10)
        ids = [p.id for p in products if p.available]
        if not ids:
            return [types.Reply_Text("Nothing found, sorry.")]
        return [types.Reply_ProductList(types.ProductListReply(header="Found", body="Tap one:", product_ids=ids))]

    def price_cart(self, context: types.ConversationContext, basket: types.Cart) -> List[types.DiscountLine]:
        return []
