"""Crumb & Co: a bakery that takes orders in chat, with made-to-order cakes.

The Python example shop for Bottega plugin authors (built with componentize-py).
Breads and pastries are browsed and added like any catalog product. A cake is
made to order: the plugin walks the customer through flavour, size and the words
to pipe on top, validates each answer, and only then puts the cake in the basket.
Pastries are priced "6th one free" through the pricing hook (`price_cart`).

Everything this shop remembers about a customer lives in the host's key-value
store (`kv`), under the pseudonymous customer id: an instance may serve several
customers one after another, so nothing about a customer is kept in globals.
"""

import json
from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import cart, catalog, clock, kv, log, types

# The section whose products count towards "6th pastry free".
PASTRY_SECTION = "Pastries"
PASTRIES_PER_FREE = 6
# Cake flavours the bakers make; the catalog holds one product per cake size.
FLAVOURS = {
    "chocolate": "Chocolate fudge",
    "lemon": "Lemon drizzle",
    "carrot": "Carrot & walnut",
    "vanilla": "Vanilla sponge",
}
CAKE_SECTION = "Cakes"
# The longest inscription the bakers can pipe on a cake.
MAX_INSCRIPTION = 30
PAGE = 10


class Bot(exports.Bot):
    def handle_message(self, context: types.ConversationContext, message: types.InboundMessage) -> List[types.Reply]:
        if isinstance(message, types.InboundMessage_Text):
            return on_text(context, message.value)
        if isinstance(message, types.InboundMessage_Choice):
            return on_choice(context, message.value.id)
        if isinstance(message, types.InboundMessage_ProductTap):
            return show_product(message.value)
        if isinstance(message, types.InboundMessage_Cart):
            units = sum(item.quantity for item in message.value)
            return [text(f"Thank you! {units} items are in your basket."), types.Reply_CartSummary(), basket_actions()]
        return [main_menu()]

    def handle_event(self, context: types.ConversationContext, event: types.ShopEvent) -> List[types.Reply]:
        if isinstance(event, types.ShopEvent_OrderPaid):
            return [text(f"Paid, thank you! Order {event.value.order_id} goes to the ovens now.")]
        if isinstance(event, types.ShopEvent_PaymentFailed):
            return [text(f"The payment for order {event.value.order_id} didn't go through ({event.value.reason}). "
                         "You can try again from the same link.")]
        if isinstance(event, types.ShopEvent_OrderShipped):
            return [text(f"Order {event.value.order_id} is out for delivery. Enjoy!")]
        return [text("I'm back! Say \"menu\" whenever you like.")]


class Storefront(exports.Storefront):
    def present_catalog(self, context: types.ConversationContext, query: types.CatalogQuery) -> List[types.Reply]:
        if query.text is not None:
            return search(query.text)
        if query.section is not None:
            return show_section(query.section)
        return show_sections()

    def price_cart(self, context: types.ConversationContext, basket: types.Cart) -> List[types.DiscountLine]:
        return pastry_discount(basket)


# --- conversation -----------------------------------------------------------

def on_text(context: types.ConversationContext, said: str) -> List[types.Reply]:
    words = said.strip().lower()
    pending = load_cake(context)
    if pending is not None and pending.get("step") == "inscription":
        return take_inscription(context, pending, said.strip())
    if words in ("hi", "hello", "hey", "hola", "start"):
        return greet(context)
    if words in ("menu", "browse", "shop"):
        return show_sections()
    if words in ("cake", "cakes", "order a cake"):
        return start_cake(context)
    if words in ("cart", "basket"):
        return show_basket()
    if words in ("checkout", "pay"):
        return checkout()
    if words in ("agent", "human", "help"):
        return [text("Of course, one of our bakers will answer here shortly."),
                types.Reply_HumanAgent("customer asked for a person")]
    return search(words)


def on_choice(context: types.ConversationContext, choice_id: str) -> List[types.Reply]:
    if choice_id.startswith("section:"):
        return show_section(choice_id[len("section:"):])
    if choice_id.startswith("add:"):
        return add_to_basket(choice_id[len("add:"):], 1)
    if choice_id.startswith("flavour:"):
        return choose_flavour(context, choice_id[len("flavour:"):])
    if choice_id.startswith("size:"):
        return choose_size(context, choice_id[len("size:"):])
    if choice_id == "cake":
        return start_cake(context)
    if choice_id == "browse":
        return show_sections()
    if choice_id == "cart":
        return show_basket()
    if choice_id == "checkout":
        return checkout()
    return greet(context)


def greet(context: types.ConversationContext) -> List[types.Reply]:
    return [types.Reply_Buttons(types.ButtonsReply(
        body="Welcome to Crumb & Co! Fresh bread every morning, pastries, and cakes made to order.",
        buttons=[button("browse", "Breads & pastries"), button("cake", "Order a cake"), button("cart", "My basket")],
    ))]


# --- the made-to-order cake: flavour, size, inscription, each validated ------

def cake_key(context: types.ConversationContext) -> str:
    return f"cake:{context.customer_id}"


def load_cake(context: types.ConversationContext) -> Optional[dict]:
    stored = kv.get(cake_key(context))
    if stored is None:
        return None
    try:
        return json.loads(stored.decode("utf-8"))
    except ValueError:
        return None


def save_cake(context: types.ConversationContext, cake: dict) -> None:
    try:
        kv.set(cake_key(context), json.dumps(cake).encode("utf-8"))
    except Err as error:
        log.log(log.Level.WARN, "could not remember a cake order", [("error", repr(error.value))])


def start_cake(context: types.ConversationContext) -> List[types.Reply]:
    save_cake(context, {"step": "flavour", "started_ms": clock.now_ms()})
    return [types.Reply_ChoiceList(types.ListReply(
        body="Lovely! Which flavour would you like?",
        button_label="Flavours",
        rows=[types.ListRow(id=f"flavour:{key}", title=name, description=None) for key, name in FLAVOURS.items()],
    ))]


def choose_flavour(context: types.ConversationContext, flavour: str) -> List[types.Reply]:
    if flavour not in FLAVOURS:
        return [text("We don't bake that flavour, sorry. Please pick one from the list.")] + start_cake(context)
    sizes = [p for p in catalog.list_products(CAKE_SECTION, 0, 3) if p.available]
    if not sizes:
        return [text("Our cake book is full for now, sorry. Please ask again tomorrow.")]
    save_cake(context, {"step": "size", "flavour": flavour})
    return [types.Reply_Buttons(types.ButtonsReply(
        body=f"{FLAVOURS[flavour]} it is. Which size?",
        buttons=[button(f"size:{p.id}", p.name[:20]) for p in sizes],
    ))]


def choose_size(context: types.ConversationContext, product_id: str) -> List[types.Reply]:
    pending = load_cake(context)
    if pending is None or "flavour" not in pending:
        return [text("Let's start with the flavour.")] + start_cake(context)
    product = catalog.get_product(product_id)
    if product is None or product.section != CAKE_SECTION or not product.available:
        return [text("That size isn't available, sorry. Please choose again.")] + choose_flavour(context, pending["flavour"])
    pending.update({"step": "inscription", "size": product_id})
    save_cake(context, pending)
    return [text(f"What should we write on it? Up to {MAX_INSCRIPTION} characters, or \"none\".")]


def take_inscription(context: types.ConversationContext, pending: dict, words: str) -> List[types.Reply]:
    if words.lower() == "none":
        words = ""
    if len(words) > MAX_INSCRIPTION:
        return [text(f"That's {len(words)} characters; our piping bag fits {MAX_INSCRIPTION}. Something shorter?")]
    if any(ch in words for ch in "<>{}"):
        return [text("Letters, numbers and punctuation only, please. What should we write?")]
    kv.delete(cake_key(context))
    replies = add_to_basket(pending["size"], 1)
    flavour = FLAVOURS[pending["flavour"]]
    note = f", reading \"{words}\"" if words else ""
    log.log(log.Level.INFO, "cake ordered", [("flavour", pending["flavour"]), ("size", pending["size"])])
    return [text(f"One {flavour} cake{note}. We'll bake it fresh for you.")] + replies


# --- catalog ------------------------------------------------------------------

def show_sections() -> List[types.Reply]:
    sections = [s for s in catalog.list_sections() if s != CAKE_SECTION]
    if not sections:
        return [text("The shelves are empty right now: the next batch is in the oven.")]
    return [types.Reply_ChoiceList(types.ListReply(
        body="Fresh today. Pick a section:",
        button_label="Sections",
        rows=[types.ListRow(id=f"section:{s}", title=s[:24], description=None) for s in sections[:10]],
    ))]


def show_section(section: str) -> List[types.Reply]:
    ids = [p.id for p in catalog.list_products(section, 0, PAGE) if p.available]
    if not ids:
        return [text(f"Nothing left in {section} today, sorry."), main_menu()]
    body = "Tap one to add it to your basket."
    if section == PASTRY_SECTION:
        body += f" Every {PASTRIES_PER_FREE}th pastry is free!"
    return [types.Reply_ProductList(types.ProductListReply(header=section, body=body, product_ids=ids))]


def search(words: str) -> List[types.Reply]:
    found = [p.id for p in catalog.search_products(words, PAGE) if p.available]
    if not found:
        return [text(f"Sorry, nothing called \"{words}\" in the bakery today."), main_menu()]
    if len(found) == 1:
        return show_product(found[0])
    return [types.Reply_ProductList(types.ProductListReply(
        header=f"{len(found)} matches", body=f"Here is what we have for \"{words}\":", product_ids=found))]


def show_product(product_id: str) -> List[types.Reply]:
    product = catalog.get_product(product_id)
    if product is None or not product.available:
        return [text("That one is sold out, sorry."), main_menu()]
    if product.section == CAKE_SECTION:
        return [types.Reply_Product(product.id), types.Reply_Buttons(types.ButtonsReply(
            body="Cakes are made to order: choose a flavour and the words on top.",
            buttons=[button("cake", "Order a cake"), button("browse", "Keep browsing")]))]
    return [types.Reply_Product(product.id), types.Reply_Buttons(types.ButtonsReply(
        body=f"Would you like {product.name}?",
        buttons=[button(f"add:{product.id}", "Add to basket"), button("browse", "Keep browsing"),
                 button("cart", "My basket")]))]


# --- basket -------------------------------------------------------------------

CART_ERRORS = {
    cart.CartError.UNKNOWN_PRODUCT: "That one is sold out, sorry.",
    cart.CartError.UNAVAILABLE: "That one is sold out, sorry.",
    cart.CartError.INSUFFICIENT_STOCK: "We haven't baked that many today, sorry.",
    cart.CartError.INVALID_QUANTITY: "Please ask for between 1 and 999.",
    cart.CartError.CART_FULL: "Your basket is full: check out first.",
}


def add_to_basket(product_id: str, quantity: int) -> List[types.Reply]:
    try:
        basket = cart.add_item(product_id, quantity)
    except Err as error:
        return [text(CART_ERRORS.get(error.value, "That didn't work, sorry.")), main_menu()]
    units = sum(line.quantity for line in basket.lines)
    name = next((line.name for line in basket.lines if line.product_id == product_id), product_id)
    return [text(f"Added {quantity} × {name}. Your basket has {units} items."), basket_actions()]


def show_basket() -> List[types.Reply]:
    if not cart.get().lines:
        return [text("Your basket is empty."), main_menu()]
    return [types.Reply_CartSummary(), basket_actions()]


def checkout() -> List[types.Reply]:
    if not cart.get().lines:
        return [text("Your basket is empty: add something first."), main_menu()]
    return [text("Here is your order to pay for:"), types.Reply_Checkout()]


def pastry_discount(basket: types.Cart) -> List[types.DiscountLine]:
    """Every 6th pastry is free: the cheapest pastries in the basket are the free ones."""
    units = []
    for line in basket.lines:
        product = catalog.get_product(line.product_id)
        if product is not None and product.section == PASTRY_SECTION:
            units += [(line.unit_price.amount_minor, line.product_id)] * line.quantity
    free = len(units) // PASTRIES_PER_FREE
    if free == 0:
        return []
    units.sort()
    chosen = units[:free]
    return [types.DiscountLine(
        label=f"Every {PASTRIES_PER_FREE}th pastry free",
        amount_minor=sum(price for price, _ in chosen),
        product_ids=sorted({pid for _, pid in chosen}),
    )]


# --- small helpers ---------------------------------------------------------------

def text(body: str) -> types.Reply:
    return types.Reply_Text(body)


def button(button_id: str, title: str) -> types.ReplyButton:
    return types.ReplyButton(id=button_id, title=title)


def main_menu() -> types.Reply:
    return types.Reply_Buttons(types.ButtonsReply(
        body="What next?", buttons=[button("browse", "Breads & pastries"), button("cake", "Order a cake"),
                                    button("cart", "My basket")]))


def basket_actions() -> types.Reply:
    return types.Reply_Buttons(types.ButtonsReply(
        body="Anything else?", buttons=[button("checkout", "Check out"), button("browse", "Keep browsing"),
                                        button("cart", "My basket")]))
