// A starter Bottega shop: greets, searches the catalog, shows the basket.
import { searchProducts } from 'bottega:shop/catalog@1.1.0';
import { addItem } from 'bottega:shop/cart@1.1.0';

export const storefront = {
  presentCatalog(context, query) {
    const ids = searchProducts(query.text ?? '', 10).filter((p) => p.available).map((p) => p.id);
    if (ids.length === 0) return [{ tag: 'text', val: 'Nothing found, sorry.' }];
    return [{ tag: 'product-list', val: { header: 'Found', body: 'Tap one:', productIds: ids } }];
  },
  priceCart(context, cart) {
    return []; // discounts: [{ label, amountMinor: 100n, productIds: [] }] (money is BigInt)
  },
};

export const bot = {
  handleMessage(context, message) {
    if (message.tag === 'choice' && message.val.id.startsWith('add:')) {
      try {
        addItem(message.val.id.slice(4), 1);
      } catch (error) {
        return [{ tag: 'text', val: 'Sorry, that one is sold out.' }];
      }
      return [{ tag: 'cart-summary' }];
    }
    if (message.tag === 'product-tap') {
      return [{ tag: 'product', val: message.val },
        { tag: 'buttons', val: { body: 'Add it to your basket?', buttons: [{ id: `add:${message.val}`, title: 'Add' }] } }];
    }
    if (message.tag === 'text' && !['hi', 'hello'].includes(message.val.trim().toLowerCase())) {
      return storefront.presentCatalog(context, { text: message.val, section: undefined });
    }
    return [{ tag: 'text', val: 'Welcome! Tell me what you are looking for.' }];
  },
  handleEvent(context, event) {
    return [{ tag: 'text', val: 'Thank you for your order!' }];
  },
};
