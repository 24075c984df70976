-- The original's sample data: three users, three products and one order.
-- Loaded only into an empty database, so it never duplicates and never
-- touches real data.

DO $$
DECLARE
    john_id   BIGINT;
    laptop_id BIGINT;
    order_id  BIGINT;
BEGIN
    IF EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM products) THEN
        RETURN;
    END IF;

    INSERT INTO users (username, email) VALUES
        ('john_doe', 'john@example.com'),
        ('jane_smith', 'jane@example.com'),
        ('bob_wilson', 'bob@example.com');

    INSERT INTO products (name, description, price, stock_quantity) VALUES
        ('Laptop', 'High-end laptop', 1299.99, 10),
        ('Mouse', 'Wireless mouse', 29.99, 100),
        ('Keyboard', 'Mechanical keyboard', 89.99, 50);

    SELECT id INTO john_id FROM users WHERE username = 'john_doe';
    SELECT id INTO laptop_id FROM products WHERE name = 'Laptop';

    INSERT INTO orders (user_id, status, total_amount)
        VALUES (john_id, 'pending', 2599.98)
        RETURNING id INTO order_id;
    INSERT INTO order_items (order_id, product_id, quantity, price)
        VALUES (order_id, laptop_id, 2, 1299.99);
    UPDATE products SET stock_quantity = stock_quantity - 2 WHERE id = laptop_id;
END;
$$;
